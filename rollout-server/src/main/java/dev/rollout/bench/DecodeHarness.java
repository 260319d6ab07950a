package dev.rollout.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.CausalLM;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.PagedAttentionContext;
import dev.rollout.model.KvCache;
import java.util.ArrayList;
import java.util.List;

/**
 * One decode step of {@code batch} sequences at context {@code context}, made of exactly the tensor work the engine's
 * model runner does for a pure-decode step (token and position tensors, a {@link PagedAttentionContext} over a paged
 * cache, the forward, the LM head on every row, the logits copied to Java once), without scheduling or sampling.
 * Each sequence owns a contiguous run of blocks; the cache's contents are zeros, which costs the same as real K/V.
 * The step never advances: every call is the same step, so repeated timings are comparable.
 */
public final class DecodeHarness implements AutoCloseable {
    private final CausalLM model;
    private final NDManager manager;
    private final KvCache cache;
    private final long[] tokenIds;
    private final long[] positions;
    private long kernelNanos;
    private final List<PagedAttentionContext.SequenceSlice> slices;
    private final AttentionBackend backend;

    public DecodeHarness(CausalLM model, int batch, int context, int blockSize, NDManager parent, AttentionBackend backend) {
        if (batch < 1 || context < 1 || blockSize < 1) {
            throw new IllegalArgumentException("batch, context and block size must be positive, got " + batch + ", "
                    + context + ", " + blockSize);
        }
        this.model = model;
        this.backend = backend;
        this.manager = parent.newSubManager();
        int blocksPerSequence = (context + blockSize - 1) / blockSize;
        this.cache = new KvCache(model.config(), batch * blocksPerSequence, blockSize, manager);
        this.tokenIds = new long[batch];
        this.positions = new long[batch];
        this.slices = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            tokenIds[b] = 1 + (b * 7919L) % (model.config().vocabSize() - 1);
            positions[b] = context - 1;
            int[] table = new int[blocksPerSequence];
            for (int i = 0; i < blocksPerSequence; i++) {
                table[i] = b * blocksPerSequence + i;
            }
            slices.add(new PagedAttentionContext.SequenceSlice(1, context, table));
        }
    }

    /** Runs the step; returns the logits' checksum so that nothing can be optimised away. */
    public float step() {
        try (NDManager step = manager.newSubManager();
             PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step, backend)) {
            NDArray hidden = model.forward(step.create(tokenIds), step.create(positions), ctx);
            kernelNanos += ctx.cpuKernelNanos();
            float[] logits = model.logits(hidden).toFloatArray();
            return logits[0] + logits[logits.length - 1];
        }
    }

    /** Nanoseconds all steps so far spent in the Java attention kernel ({@link PagedAttentionContext#cpuKernelNanos()}). */
    public long kernelNanos() {
        return kernelNanos;
    }

    public long cacheBytes() {
        return cache.bytes();
    }

    @Override
    public void close() {
        manager.close();
    }
}
