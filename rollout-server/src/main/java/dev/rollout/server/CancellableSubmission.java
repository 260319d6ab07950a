package dev.rollout.server;

import dev.rollout.engine.RequestHandle;

/**
 * Links a call's cancellation to an engine request that may not exist yet (it can be parked behind a weight swap):
 * a cancel before submission stops the submission, a cancel after it cancels the engine request.
 */
final class CancellableSubmission {
    private RequestHandle handle;
    private boolean cancelled;

    synchronized void cancel() {
        cancelled = true;
        if (handle != null) {
            handle.cancel();
        }
    }

    synchronized boolean cancelled() {
        return cancelled;
    }

    void attach(RequestHandle h) {
        boolean cancelNow;
        synchronized (this) {
            handle = h;
            cancelNow = cancelled;
        }
        if (cancelNow) {
            h.cancel();
        }
    }
}
