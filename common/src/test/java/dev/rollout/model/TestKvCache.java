package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/** A zero-filled paged KV cache with no allocator: tests hand out block ids themselves. */
public final class TestKvCache implements PagedKvCache {
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();
    private final int blockSize;
    private final int numBlocks;

    public TestKvCache(ModelConfig c, int numBlocks, int blockSize, NDManager manager) {
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        Shape shape = new Shape(c.numKvHeads(), numBlocks, blockSize, c.headDim());
        for (int i = 0; i < c.numLayers(); i++) {
            keys.add(manager.zeros(shape, DataType.FLOAT32));
            values.add(manager.zeros(shape, DataType.FLOAT32));
        }
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
