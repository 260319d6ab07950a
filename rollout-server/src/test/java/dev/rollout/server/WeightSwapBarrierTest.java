package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.server.sync.WeightSwapBarrier;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WeightSwapBarrierTest {
    private final WeightSwapBarrier barrier = new WeightSwapBarrier();
    private final List<String> events = new CopyOnWriteArrayList<>();

    @Test
    void aSwapWithNothingInFlightRunsAtOnce() throws Exception {
        assertEquals("swapped", barrier.swap(() -> "swapped"));
    }

    @Test
    void aSwapWaitsForRequestsInFlightAndRequestsArrivingMeanwhileStartAfterIt() throws Exception {
        barrier.enter(() -> events.add("first started"));
        CompletableFuture<Void> swap = CompletableFuture.runAsync(() -> {
            try {
                barrier.swap(() -> events.add("swapped"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // a request that arrives while the swap waits is parked, not started
        while (System.nanoTime() < deadline) {
            barrier.enter(() -> events.add("second started"));
            if (!events.contains("second started")) {
                break;
            }
            barrier.leave();
            events.remove("second started");
            Thread.sleep(1);
        }
        assertFalse(events.contains("second started"));
        assertFalse(swap.isDone());
        barrier.leave(); // the first request finishes
        swap.get(10, TimeUnit.SECONDS);
        assertEquals(List.of("first started", "swapped", "second started"), events);
        assertEquals(1, barrier.inFlight());
        barrier.leave();
        assertTrue(barrier.inFlight() == 0);
    }
}
