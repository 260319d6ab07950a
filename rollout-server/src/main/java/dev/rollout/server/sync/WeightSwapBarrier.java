package dev.rollout.server.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Keeps every completion's tokens from a single set of weights. The engine swaps weights between two steps and lets
 * sequences in flight go on with the new ones, which would mix two policies inside one completion (and stamp it with
 * only the newer version). So a swap first waits for the generation requests in flight to finish, while requests that
 * arrive meanwhile are parked and started right after the swap. A trainer that syncs between generation phases, the
 * usual case, finds nothing in flight and is not delayed; one that syncs mid-generation waits for the longest request.
 */
public final class WeightSwapBarrier {
    private int inFlight;
    private boolean swapping;
    private final List<Runnable> parked = new ArrayList<>();

    /** Runs {@code start} now, or right after the swap in progress. Every started request must {@link #leave()} once. */
    public void enter(Runnable start) {
        synchronized (this) {
            if (swapping) {
                parked.add(start);
                return;
            }
            inFlight++;
        }
        start.run();
    }

    /** A request entered through {@link #enter} has finished (or failed to start). */
    public synchronized void leave() {
        inFlight--;
        if (inFlight == 0) {
            notifyAll();
        }
    }

    /** Waits until nothing is in flight, runs {@code swap} with new requests held back, then starts those. */
    public <T> T swap(Callable<T> swap) throws Exception {
        synchronized (this) {
            while (swapping) {
                wait();
            }
            swapping = true;
            while (inFlight > 0) {
                wait();
            }
        }
        try {
            return swap.call();
        } finally {
            List<Runnable> toStart;
            synchronized (this) {
                swapping = false;
                toStart = new ArrayList<>(parked);
                parked.clear();
                inFlight += toStart.size();
                notifyAll();
            }
            toStart.forEach(Runnable::run);
        }
    }

    public synchronized int inFlight() {
        return inFlight;
    }
}
