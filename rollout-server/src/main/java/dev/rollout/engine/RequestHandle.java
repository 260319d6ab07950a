package dev.rollout.engine;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A submitted request: its completions when all have ended, and a way to abort it. */
public interface RequestHandle {

    /** Completes with every completion of the request, ordered by (promptIndex, sampleIndex). */
    CompletableFuture<List<CompletionResult>> result();

    /** Aborts the sequences still in flight and frees their blocks; those completions end with {@link FinishReason#ABORTED}. */
    void cancel();
}
