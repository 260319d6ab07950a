package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The serving KV cache: per layer one K and one V tensor {@code [numKvHeads, numBlocks, blockSize, headDim]} fp32,
 * zero-filled. Blocks are the unit of allocation; a sequence's tokens live in the blocks of its block table, in order.
 * Heads lead so that gathering a sequence's blocks yields {@code [numKvHeads, blocks, blockSize, headDim]}, which
 * reshapes to {@code [numKvHeads, tokens, headDim]} without a copy. Which block holds what is the engine's business.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();
    private final int numBlocks;
    private final int blockSize;
    private final long bytes;

    public KvCache(ModelConfig config, int numBlocks, int blockSize, NDManager parent) {
        this.manager = parent.newSubManager();
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        Shape shape = new Shape(config.numKvHeads(), numBlocks, blockSize, config.headDim());
        for (int i = 0; i < config.numLayers(); i++) {
            keys.add(manager.zeros(shape, DataType.FLOAT32));
            values.add(manager.zeros(shape, DataType.FLOAT32));
        }
        this.bytes = bytesPerBlock(config, blockSize) * numBlocks;
    }

    /** K and V of one block across all layers, fp32. */
    public static long bytesPerBlock(ModelConfig config, int blockSize) {
        return config.kvBytesPerToken() * blockSize;
    }

    public NDArray keys(int layer) {
        return keys.get(layer);
    }

    public NDArray values(int layer) {
        return values.get(layer);
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    public long bytes() {
        return bytes;
    }

    /** Copies whole blocks (all layers, K and V): {@code sources[i]} into {@code targets[i]}. Four ops per layer. */
    public void copyBlocks(long[] sources, long[] targets, NDManager stepManager) {
        NDArray from = stepManager.create(sources);
        NDArray to = stepManager.create(targets);
        try (NDScope scope = new NDScope()) {
            for (int layer = 0; layer < keys.size(); layer++) {
                for (NDArray cache : List.of(keys.get(layer), values.get(layer))) {
                    cache.set(new NDIndex(":, {}", to), cache.get(new NDIndex(":, {}", from)));
                }
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
