package dev.rollout.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.util.concurrent.Semaphore;

/**
 * Backpressure: at most {@code maxQueuedRequests} generation requests in the server at once (running or waiting in the
 * engine). Beyond that a request is refused with RESOURCE_EXHAUSTED at once instead of piling up memory and latency;
 * the client backs off and retries.
 */
public final class AdmissionLimit {
    private final int max;
    private final Semaphore permits;

    public AdmissionLimit(int maxQueuedRequests) {
        if (maxQueuedRequests <= 0) {
            throw new IllegalArgumentException("--max-queued-requests must be > 0, got " + maxQueuedRequests);
        }
        this.max = maxQueuedRequests;
        this.permits = new Semaphore(maxQueuedRequests);
    }

    /** Takes a place or throws RESOURCE_EXHAUSTED; a taken place must be given back with {@link #release()} exactly once. */
    public void acquire() throws StatusException {
        if (!permits.tryAcquire()) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the server already holds " + max
                    + " generation requests (--max-queued-requests); retry later with backoff").asException();
        }
    }

    public void release() {
        permits.release();
    }

    public int inFlight() {
        return max - permits.availablePermits();
    }
}
