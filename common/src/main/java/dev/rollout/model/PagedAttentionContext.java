package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * Serving attention over a {@link KvCache}: the tokens of several sequences are packed flat in the order of
 * {@code sequences}. Each layer first writes this step's K/V at the tokens' cache slots, then attends every query over
 * its own sequence's cached tokens. The step's layout ({@link PagedStepMetadata}) is built once and shared by every
 * layer; the work is done by the chosen backend: {@link JavaPagedAttention} (plain Java over CPU memory) or
 * {@link TensorPagedAttention} (tensor ops, what a GPU runs). Both give the same log-probs to float rounding.
 */
public final class PagedAttentionContext implements AttentionContext, AutoCloseable {

    /**
     * One sequence's part of the step.
     *
     * @param queryLen tokens of this sequence in this forward (its last {@code queryLen} positions)
     * @param contextLen tokens in the cache after this step, the new ones included
     * @param blockTable block ids holding positions {@code [0, contextLen)} in order
     */
    public record SequenceSlice(int queryLen, int contextLen, int[] blockTable) {
        public SequenceSlice {
            if (queryLen <= 0 || contextLen < queryLen) {
                throw new IllegalArgumentException("need 0 < queryLen <= contextLen, got " + queryLen + ", " + contextLen);
            }
        }
    }

    private final int totalTokens;
    private final PagedAttention backend;

    /** A step on {@code backend} ({@code AUTO} is resolved against the cache, see {@link AttentionBackend#resolve}). */
    public PagedAttentionContext(KvCache cache, List<SequenceSlice> sequences, NDManager stepManager,
            AttentionBackend backend) {
        PagedStepMetadata m = new PagedStepMetadata(sequences, cache.blockSize());
        this.totalTokens = m.totalTokens;
        this.backend = backend.resolve(cache) == AttentionBackend.JAVA
                ? new JavaPagedAttention(cache, m, stepManager)
                : new TensorPagedAttention(cache, m, stepManager);
    }

    /** A step on the {@code AUTO} backend. */
    public PagedAttentionContext(KvCache cache, List<SequenceSlice> sequences, NDManager stepManager) {
        this(cache, sequences, stepManager, AttentionBackend.AUTO);
    }

    /**
     * Nanoseconds this step has spent so far in the Java side of CPU attention (RoPE, the K/V write, decode attention):
     * tensor math that libtorch's profiler does not see, so that a benchmark can count it as such. 0 on the tensor backend.
     */
    public long cpuKernelNanos() {
        return backend instanceof JavaPagedAttention java ? java.kernelNanos() : 0;
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        if (qkv.getShape().get(0) != totalTokens) {
            throw new IllegalArgumentException("step has " + totalTokens + " tokens, got " + qkv.getShape().get(0));
        }
        return backend.attend(layer, qkv, rotation);
    }

    @Override
    public void close() {
        backend.close();
    }
}
