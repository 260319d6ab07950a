package dev.rollout.model;

import ai.djl.ndarray.NDArray;

/**
 * How the tokens of one forward attend to each other. The model code is the same for training and serving; only the
 * context differs: {@link DenseCausalContext} for full padded sequences (training, autograd), {@link PagedAttentionContext}
 * for packed sequences reading and writing a block-paged KV cache (serving).
 *
 * <p>The context receives q, k and v fused and not yet rotated, so that a context can rotate, store and attend in one
 * pass over the rows (the paged context does on the CPU) instead of a dozen tensor ops.
 */
public interface AttentionContext {
    /**
     * @param qkv [T, numHeads + 2 * numKvHeads, headDim]: queries, keys and values, q and k not yet rotated
     * @param rotation the rotary embedding at this forward's positions
     * @return [T, numHeads * headDim]
     */
    NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation);
}
