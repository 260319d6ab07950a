package dev.rollout.server;

import io.grpc.Status;
import io.grpc.StatusException;

/**
 * Backpressure: at most {@code maxQueuedRequests} generation requests and {@code maxQueuedSequences} sequences (prompts
 * × n, summed over those requests) in the server at once, running or waiting in the engine. Beyond either, a request
 * is refused with RESOURCE_EXHAUSTED before any work is done on it, instead of piling up memory and latency; the
 * client backs off and retries.
 */
public final class AdmissionLimit {
    private final int maxRequests;
    private final long maxSequences;
    private int requests;
    private long sequences;

    public AdmissionLimit(int maxQueuedRequests, long maxQueuedSequences) {
        if (maxQueuedRequests <= 0) {
            throw new IllegalArgumentException("--max-queued-requests must be > 0, got " + maxQueuedRequests);
        }
        if (maxQueuedSequences <= 0) {
            throw new IllegalArgumentException("--max-queued-sequences must be > 0, got " + maxQueuedSequences);
        }
        this.maxRequests = maxQueuedRequests;
        this.maxSequences = maxQueuedSequences;
    }

    /**
     * Takes a place for a request of {@code count} sequences or throws RESOURCE_EXHAUSTED; a taken place must be given
     * back with {@link #release(long)} of the same count exactly once.
     */
    public synchronized void acquire(long count) throws StatusException {
        if (requests >= maxRequests) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the server already holds " + maxRequests
                    + " generation requests (--max-queued-requests); retry later with backoff").asException();
        }
        if (sequences + count > maxSequences) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("the server already holds " + sequences + " sequences and this request adds "
                    + count + ", beyond " + maxSequences + " (--max-queued-sequences); retry later with backoff").asException();
        }
        requests++;
        sequences += count;
    }

    public synchronized void release(long count) {
        requests--;
        sequences -= count;
    }

    public synchronized int inFlight() {
        return requests;
    }

    public synchronized long sequencesInFlight() {
        return sequences;
    }
}
