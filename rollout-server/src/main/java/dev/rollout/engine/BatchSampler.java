package dev.rollout.engine;

import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Samples every row of a step. Each draw depends only on its row of logits and its sequence's own RNG, so rows are
 * drawn in parallel when the step is large enough to pay for it (a 64-row step over a 49k vocabulary is tens of
 * milliseconds of {@code exp} on one core, while libtorch's threads sit idle between forwards); the result is the same
 * whatever the parallelism.
 */
final class BatchSampler implements AutoCloseable {
    /** Below this many logits per step, sampling stays on the calling thread. */
    private static final long PARALLEL_THRESHOLD = 1 << 20;

    /** One sequence to sample, from the row of logits starting at {@code offset}. */
    record Draw(Sequence sequence, int offset) {}

    private final ForkJoinPool pool;
    private final ThreadLocal<Sampler> samplers = ThreadLocal.withInitial(Sampler::new);

    BatchSampler(int parallelism) {
        this.pool = parallelism > 1 ? new ForkJoinPool(parallelism) : null;
    }

    Sampler.Sample[] sample(List<Draw> draws, float[] logits, int vocab) {
        Sampler.Sample[] out = new Sampler.Sample[draws.size()];
        if (pool == null || (long) draws.size() * vocab < PARALLEL_THRESHOLD) {
            for (int i = 0; i < out.length; i++) {
                out[i] = draw(draws.get(i), logits, vocab);
            }
        } else {
            pool.submit(() -> IntStream.range(0, out.length).parallel()
                    .forEach(i -> out[i] = draw(draws.get(i), logits, vocab))).join();
        }
        return out;
    }

    private Sampler.Sample draw(Draw d, float[] logits, int vocab) {
        Sequence seq = d.sequence();
        return samplers.get().sample(logits, d.offset(), vocab, seq.params, seq.rng());
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
