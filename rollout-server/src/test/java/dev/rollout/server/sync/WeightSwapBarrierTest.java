package dev.rollout.server.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.RequestHandle;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WeightSwapBarrierTest {
    private final WeightSwapBarrier barrier = new WeightSwapBarrier(Duration.ofHours(1));
    private final List<String> events = new CopyOnWriteArrayList<>();

    @Test
    void aSwapWithNothingInFlightRunsAtOnce() throws Exception {
        assertEquals("swapped", barrier.swap(() -> "swapped"));
    }

    @Test
    void aSwapWaitsForRequestsInFlightAndRequestsArrivingMeanwhileStartAfterIt() throws Exception {
        CancellableSubmission first = new CancellableSubmission();
        barrier.enter(first, () -> events.add("first started"));
        CompletableFuture<Void> swap = CompletableFuture.runAsync(() -> {
            try {
                barrier.swap(() -> events.add("swapped"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // a request that arrives while the swap waits is parked, not started
        CancellableSubmission second = new CancellableSubmission();
        while (System.nanoTime() < deadline) {
            barrier.enter(second, () -> events.add("second started"));
            if (!events.contains("second started")) {
                break;
            }
            barrier.leave(second);
            events.remove("second started");
            Thread.sleep(1);
        }
        assertFalse(events.contains("second started"));
        assertFalse(swap.isDone());
        barrier.leave(first); // the first request finishes
        swap.get(10, TimeUnit.SECONDS);
        assertEquals(List.of("first started", "swapped", "second started"), events);
        assertEquals(1, barrier.inFlight());
        barrier.leave(second);
        assertTrue(barrier.inFlight() == 0);
    }

    @Test
    void aSwapThatWaitedItsLongestAbortsTheRequestsInFlightAndGoesAhead() throws Exception {
        WeightSwapBarrier bounded = new WeightSwapBarrier(Duration.ZERO);
        CancellableSubmission running = new CancellableSubmission();
        // a request that would run for ever: it ends only when the engine aborts it
        RequestHandle handle = new RequestHandle() {
            private final CompletableFuture<List<CompletionResult>> result = new CompletableFuture<>();

            @Override
            public CompletableFuture<List<CompletionResult>> result() {
                return result;
            }

            @Override
            public void cancel() {
                events.add("aborted");
                bounded.leave(running);
            }
        };
        bounded.enter(running, () -> running.attach(handle));
        assertEquals("swapped", bounded.swap(() -> "swapped"));
        assertEquals(List.of("aborted"), events);
        assertEquals(0, bounded.inFlight());
    }

    @Test
    void aRequestAbortedBeforeItsSubmissionIsToldWhy() {
        CancellableSubmission submission = new CancellableSubmission();
        submission.abortForWeightSwap();
        assertEquals(Status.Code.ABORTED, submission.stopped().getCode());
    }
}
