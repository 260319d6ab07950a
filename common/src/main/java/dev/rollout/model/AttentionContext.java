package dev.rollout.model;

import ai.djl.ndarray.NDArray;

/**
 * How the tokens of one forward attend to each other. The model code is the same for training and serving; only the
 * context differs: {@link DenseCausalContext} for full padded sequences (training, autograd), {@link PagedAttentionContext}
 * for packed sequences reading and writing a block-paged KV cache (serving).
 */
public interface AttentionContext {
    /**
     * @param q [T, numHeads, headDim], already rotated
     * @param k [T, numKvHeads, headDim], already rotated
     * @param v [T, numKvHeads, headDim]
     * @return [T, numHeads * headDim]
     */
    NDArray attend(int layer, NDArray q, NDArray k, NDArray v);
}
