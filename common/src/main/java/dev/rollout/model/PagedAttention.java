package dev.rollout.model;

import ai.djl.ndarray.NDArray;

/** One step's paged attention on one backend ({@link AttentionBackend}), built once per step and used by every layer. */
interface PagedAttention extends AutoCloseable {

    /** Writes this step's K/V into the cache and attends every query: qkv [T, heads + 2 * kvHeads, headDim] to [T, heads * headDim]. */
    NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation);

    @Override
    void close();
}
