package dev.rollout.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.PagedAttentionContext;
import dev.rollout.model.PagedKvCache;
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
    private final Cache cache;
    private final long[] tokenIds;
    private final long[] positions;
    private final List<PagedAttentionContext.SequenceSlice> slices;

    public DecodeHarness(CausalLM model, int batch, int context, int blockSize, NDManager parent) {
        if (batch < 1 || context < 1 || blockSize < 1) {
            throw new IllegalArgumentException("batch, context and block size must be positive, got " + batch + ", "
                    + context + ", " + blockSize);
        }
        this.model = model;
        this.manager = parent.newSubManager();
        int blocksPerSequence = (context + blockSize - 1) / blockSize;
        this.cache = new Cache(model.config(), batch * blocksPerSequence, blockSize, manager);
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
             PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step)) {
            NDArray hidden = model.forward(step.create(tokenIds), step.create(positions), ctx);
            float[] logits = model.logits(hidden).toFloatArray();
            return logits[0] + logits[logits.length - 1];
        }
    }

    public long cacheBytes() {
        return cache.bytes;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** A paged cache laid out as the engine's: per layer K and V of [kvHeads, blocks, blockSize, headDim] fp32. */
    private static final class Cache implements PagedKvCache {
        private final List<NDArray> keys = new ArrayList<>();
        private final List<NDArray> values = new ArrayList<>();
        private final int numBlocks;
        private final int blockSize;
        private final long bytes;

        Cache(ModelConfig c, int numBlocks, int blockSize, NDManager manager) {
            this.numBlocks = numBlocks;
            this.blockSize = blockSize;
            Shape shape = new Shape(c.numKvHeads(), numBlocks, blockSize, c.headDim());
            for (int i = 0; i < c.numLayers(); i++) {
                keys.add(manager.zeros(shape, DataType.FLOAT32));
                values.add(manager.zeros(shape, DataType.FLOAT32));
            }
            this.bytes = c.kvBytesPerToken() * blockSize * numBlocks;
        }

        @Override
        public NDArray keys(int layer) {
            return keys.get(layer);
        }

        @Override
        public NDArray values(int layer) {
            return values.get(layer);
        }

        @Override
        public int blockSize() {
            return blockSize;
        }

        @Override
        public int numBlocks() {
            return numBlocks;
        }
    }
}
