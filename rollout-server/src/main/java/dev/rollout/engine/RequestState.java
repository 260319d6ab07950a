package dev.rollout.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A submitted request as the engine tracks it: its sequences and the completions gathered so far. */
final class RequestState implements RequestHandle {
    private static final Logger LOG = LoggerFactory.getLogger(RequestState.class);

    final GenerationRequest request;
    final List<Sequence> sequences;
    private final CompletionResult[] results;
    private int remaining;
    private final CompletableFuture<List<CompletionResult>> future = new CompletableFuture<>();
    private final Consumer<RequestState> canceller;

    /**
     * A request's state with its sequences: {@code n} per prompt, prompt by prompt, numbered from {@code sequenceIds}
     * and all seeded from one base seed (the request's, or a random one).
     */
    static RequestState of(GenerationRequest request, AtomicLong sequenceIds, Consumer<RequestState> canceller) {
        SamplingParams p = request.params();
        List<int[]> prompts = request.prompts();
        long baseSeed = p.seed() != null ? p.seed() : ThreadLocalRandom.current().nextLong();
        List<Sequence> sequences = new ArrayList<>(prompts.size() * p.n());
        RequestState state = new RequestState(request, sequences, canceller);
        for (int i = 0; i < prompts.size(); i++) {
            for (int s = 0; s < p.n(); s++) {
                sequences.add(new Sequence(sequenceIds.getAndIncrement(), i, s, prompts.get(i), p, baseSeed, state));
            }
        }
        return state;
    }

    private RequestState(GenerationRequest request, List<Sequence> sequences, Consumer<RequestState> canceller) {
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

    /**
     * Records a finished sequence of this request and hands its completion to the request's callback (engine thread).
     * Returns true when it was the last one: then call {@link #resolve}.
     */
    boolean deliver(Sequence seq, long weightVersion) {
        long[] versions = seq.tokenWeightVersions();
        CompletionResult result = new CompletionResult(seq.promptIndex, seq.sampleIndex, seq.promptTokenIds(),
                seq.generatedTokenIds(), seq.logprobs(), seq.finishReason, versions.length > 0 ? versions[0] : weightVersion,
                versions, Math.max(0, seq.numCachedTokens));
        if (request.onCompletion() != null) {
            try {
                request.onCompletion().accept(result);
            } catch (RuntimeException e) {
                LOG.warn("onCompletion callback of request {} threw", request.requestId(), e);
            }
        }
        results[seq.promptIndex * request.params().n() + seq.sampleIndex] = result;
        return --remaining == 0;
    }

    /**
     * New weights serve from now on: the unfinished sequences sample their next tokens under {@code version}. Returns
     * how many of them already have tokens, which their completion then spans two versions with (engine thread).
     */
    int weightsChanged(long version) {
        int carried = 0;
        for (Sequence seq : sequences) {
            if (!seq.isFinished()) {
                carried += seq.numGeneratedTokens() > 0 ? 1 : 0;
                seq.weightVersion = version;
            }
        }
        return carried;
    }

    /** Completes the future with every completion. */
    void resolve() {
        future.complete(List.of(results));
    }

    void fail(Throwable error) {
        future.completeExceptionally(error);
    }
}
