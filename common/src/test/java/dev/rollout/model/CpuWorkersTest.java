package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class CpuWorkersTest {
    @Test
    void runsEveryShareOnceAndReturnsWhenAllAreDone() {
        int shares = CpuWorkers.threads();
        AtomicIntegerArray runs = new AtomicIntegerArray(shares);
        for (int round = 0; round < 50; round++) {
            CpuWorkers.run(shares, runs::incrementAndGet);
        }
        for (int i = 0; i < shares; i++) {
            assertEquals(50, runs.get(i), "share " + i);
        }
    }

    @Test
    void otherSharesRunOnTheWorkersAlsoAfterTheyHaveParked() throws InterruptedException {
        int shares = CpuWorkers.threads();
        Thread[] ranOn = new Thread[shares];
        for (int round = 0; round < 3; round++) {
            Arrays.fill(ranOn, null);
            CpuWorkers.run(shares, i -> ranOn[i] = Thread.currentThread());
            assertSame(Thread.currentThread(), ranOn[0], "share 0 runs on the caller");
            for (int i = 1; i < shares; i++) {
                assertNotSame(Thread.currentThread(), ranOn[i], "share " + i);
                assertEquals("rollout-cpu-kernel", ranOn[i].getName());
            }
            // past the spin window: the workers park, and the next call must wake them
            Thread.sleep(CpuWorkers.SPIN_NANOS / 1_000_000 + 20);
        }
    }

    @Test
    void aFailingShareIsRethrownAfterTheOthersFinish() {
        int shares = CpuWorkers.threads();
        AtomicIntegerArray done = new AtomicIntegerArray(shares);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CpuWorkers.run(shares, i -> {
            if (i == shares - 1) {
                throw new IllegalStateException("share " + i + " failed");
            }
            done.incrementAndGet(i);
        }));
        assertEquals("share " + (shares - 1) + " failed", e.getMessage());
        for (int i = 0; i < shares - 1; i++) {
            assertEquals(1, done.get(i), "share " + i + " ran to the end");
        }
    }

    @Test
    void refusesShareCountsItHasNoThreadsFor() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> CpuWorkers.run(0, i -> {}));
        assertTrue(none.getMessage().contains("shares must be in [1, " + CpuWorkers.threads() + "]"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuWorkers.run(CpuWorkers.threads() + 1, i -> {}));
    }
}
