package dev.rollout.server.sync;

import dev.rollout.engine.RequestHandle;
import io.grpc.Status;

/**
 * Links a call's cancellation to an engine request that may not exist yet (it can be parked behind a weight swap):
 * a cancel before submission stops the submission, a cancel after it cancels the engine request. A weight swap that
 * has waited too long aborts it the same way ({@link WeightSwapBarrier}).
 */
public final class CancellableSubmission {
    private RequestHandle handle;
    private Status stopped;

    /** The client cancelled or its deadline passed. */
    public void cancel() {
        stop(Status.CANCELLED.withDescription("the client cancelled before the request started"));
    }

    /** A weight swap is waiting for this request: it ends now, with the tokens it has. */
    void abortForWeightSwap() {
        stop(Status.ABORTED.withDescription("a weight sync aborted this request before it started; retry it"));
    }

    private void stop(Status status) {
        RequestHandle h;
        synchronized (this) {
            if (stopped == null) {
                stopped = status;
            }
            h = handle;
        }
        if (h != null) {
            h.cancel();
        }
    }

    /** Why the request must not start, or null while it may. */
    public synchronized Status stopped() {
        return stopped;
    }

    public void attach(RequestHandle h) {
        boolean cancelNow;
        synchronized (this) {
            handle = h;
            cancelNow = stopped != null;
        }
        if (cancelNow) {
            h.cancel();
        }
    }
}
