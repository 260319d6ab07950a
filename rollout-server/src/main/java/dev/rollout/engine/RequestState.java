package dev.rollout.engine;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** A submitted request as the engine tracks it: its sequences and the completions gathered so far. */
final class RequestState implements RequestHandle {
    final GenerationRequest request;
    final List<Sequence> sequences;
    private final CompletionResult[] results;
    private int remaining;
    private final CompletableFuture<List<CompletionResult>> future = new CompletableFuture<>();
    private final Consumer<RequestState> canceller;

    RequestState(GenerationRequest request, List<Sequence> sequences, Consumer<RequestState> canceller) {
        this.request = request;
        this.sequences = sequences;
        int count = request.prompts().size() * request.params().n();
        this.results = new CompletionResult[count];
        this.remaining = count;
        this.canceller = canceller;
    }

    @Override
    public CompletableFuture<List<CompletionResult>> result() {
        return future;
    }

    @Override
    public void cancel() {
        canceller.accept(this);
    }

    /** Records a finished sequence (engine thread). Returns true when it was the last one: then call {@link #resolve}. */
    boolean complete(int index, CompletionResult result) {
        results[index] = result;
        return --remaining == 0;
    }

    /** Completes the future with every completion. */
    void resolve() {
        future.complete(List.of(results));
    }

    void fail(Throwable error) {
        future.completeExceptionally(error);
    }
}
