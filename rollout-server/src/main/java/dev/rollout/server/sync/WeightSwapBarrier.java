package dev.rollout.server.sync;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every completion's tokens from a single set of weights. The engine swaps weights between two steps and lets
 * sequences in flight go on with the new ones, which would mix two policies inside one completion (and stamp it with
 * only the newer version). So a swap first waits for the generation requests in flight to finish, while requests that
 * arrive meanwhile are parked and started right after the swap. A trainer that syncs between generation phases, the
 * usual case, finds nothing in flight and is not delayed.
 *
 * <p>A sync never waits longer than {@code maxWait} (--max-sync-wait-seconds): then the requests still in flight are
 * aborted, so their completions end FINISH_REASON_ABORTED with the tokens generated so far, all from the old weights,
 * and the swap goes ahead. The new weights win because the trainer that pushes them has moved on from the old policy.
 */
public final class WeightSwapBarrier {
    private static final Logger log = LoggerFactory.getLogger(WeightSwapBarrier.class);

    private final Duration maxWait;
    private final Set<CancellableSubmission> inFlight = new LinkedHashSet<>();
    private boolean swapping;
    private final List<Runnable> parked = new ArrayList<>();

    public WeightSwapBarrier(Duration maxWait) {
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("--max-sync-wait-seconds must be >= 0, got " + maxWait.toSeconds());
        }
        this.maxWait = maxWait;
    }

    /**
     * Runs {@code start} now, or right after the swap in progress. Every started request must {@link #leave} once;
     * {@code request} is what a swap aborts if it would otherwise wait too long.
     */
    public void enter(CancellableSubmission request, Runnable start) {
        synchronized (this) {
            if (swapping) {
                parked.add(() -> start(request, start));
                return;
            }
            inFlight.add(request);
        }
        start.run();
    }

    private void start(CancellableSubmission request, Runnable start) {
        synchronized (this) {
            inFlight.add(request);
        }
        start.run();
    }

    /** A request entered through {@link #enter} has finished (or failed to start). */
    public synchronized void leave(CancellableSubmission request) {
        if (inFlight.remove(request) && inFlight.isEmpty()) {
            notifyAll();
        }
    }

    /**
     * Waits until nothing is in flight (aborting what is still in flight after {@code maxWait}), runs {@code swap} with
     * new requests held back, then starts those.
     */
    public <T> T swap(Callable<T> swap) throws Exception {
        synchronized (this) {
            while (swapping) {
                wait();
            }
            swapping = true;
        }
        try {
            waitForRequestsInFlight();
            return swap.call();
        } finally {
            List<Runnable> toStart;
            synchronized (this) {
                swapping = false;
                toStart = new ArrayList<>(parked);
                parked.clear();
                notifyAll();
            }
            toStart.forEach(Runnable::run);
        }
    }

    private void waitForRequestsInFlight() throws InterruptedException {
        List<CancellableSubmission> toAbort;
        synchronized (this) {
            long deadline = System.nanoTime() + maxWait.toNanos();
            for (long left = maxWait.toNanos(); !inFlight.isEmpty() && left > 0; left = deadline - System.nanoTime()) {
                wait(Math.max(1, left / 1_000_000));
            }
            if (inFlight.isEmpty()) {
                return;
            }
            toAbort = List.copyOf(inFlight);
        }
        log.warn("weight sync: {} generation request(s) still running after {} s (--max-sync-wait-seconds); aborting them "
                + "(their completions end ABORTED) to apply the new weights", toAbort.size(), maxWait.toSeconds());
        toAbort.forEach(CancellableSubmission::abortForWeightSwap);
        synchronized (this) {
            // Aborts take effect between two engine steps: this wait is one step long.
            while (!inFlight.isEmpty()) {
                wait();
            }
        }
    }

    public synchronized int inFlight() {
        return inFlight.size();
    }
}
