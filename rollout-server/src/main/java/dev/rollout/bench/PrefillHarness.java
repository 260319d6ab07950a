package dev.rollout.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.CausalLM;
import dev.rollout.model.KvCache;
import dev.rollout.model.PagedAttentionContext;
import java.util.ArrayList;
import java.util.List;

/**
 * One prefill step of {@code batch} sequences, each computing its last {@code chunk} prompt tokens at context
 * {@code context} (positions {@code context - chunk .. context - 1}, the earlier ones already in the cache), packed
 * flat as the model runner packs a chunked prefill; the LM head runs on each sequence's last row only, as the engine's
 * does. The counterpart of {@link DecodeHarness} ({@code chunk} = 1 is its decode step); the step never advances.
 */
final class PrefillHarness implements AutoCloseable {
    private final CausalLM model;
    private final NDManager manager;
    private final KvCache cache;
    private final long[] tokenIds;
    private final long[] positions;
    private final long[] lastRows;
    private final List<PagedAttentionContext.SequenceSlice> slices;
    private final AttentionBackend backend;
    private long kernelNanos;

    PrefillHarness(CausalLM model, int batch, int chunk, int context, int blockSize, NDManager parent, AttentionBackend backend) {
        if (batch < 1 || chunk < 1 || context < chunk || blockSize < 1) {
            throw new IllegalArgumentException("need batch, chunk, block size > 0 and context >= chunk, got " + batch
                    + ", " + chunk + ", " + blockSize + ", " + context);
        }
        this.model = model;
        this.backend = backend;
        this.manager = parent.newSubManager();
        int blocksPerSequence = (context + blockSize - 1) / blockSize;
        this.cache = new KvCache(model.config(), batch * blocksPerSequence, blockSize, manager);
        int tokens = batch * chunk;
        this.tokenIds = new long[tokens];
        this.positions = new long[tokens];
        this.lastRows = new long[batch];
        this.slices = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < chunk; i++) {
                int row = b * chunk + i;
                tokenIds[row] = 1 + (row * 7919L) % (model.config().vocabSize() - 1);
                positions[row] = context - chunk + i;
            }
            lastRows[b] = (long) b * chunk + chunk - 1;
            int[] table = new int[blocksPerSequence];
            for (int i = 0; i < blocksPerSequence; i++) {
                table[i] = b * blocksPerSequence + i;
            }
            slices.add(new PagedAttentionContext.SequenceSlice(chunk, context, table));
        }
    }

    /** Runs the step; returns the logits' checksum so that nothing can be optimised away. */
    float step() {
        try (NDManager step = manager.newSubManager();
             PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step, backend)) {
            NDArray hidden = model.forward(step.create(tokenIds), step.create(positions), ctx);
            kernelNanos += ctx.cpuKernelNanos();
            NDArray rows = hidden.get(new NDIndex("{}", step.create(lastRows)));
            float[] logits = model.logits(rows).toFloatArray();
            return logits[0] + logits[logits.length - 1];
        }
    }

    /** Nanoseconds all steps so far spent in the Java attention kernel. */
    long kernelNanos() {
        return kernelNanos;
    }

    @Override
    public void close() {
        manager.close();
    }
}
