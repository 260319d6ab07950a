package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
