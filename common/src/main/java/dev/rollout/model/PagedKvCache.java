package dev.rollout.model;

import ai.djl.ndarray.NDArray;

/**
 * The serving KV cache as attention sees it: per layer one K and one V tensor of shape
 * {@code [numKvHeads, numBlocks, blockSize, headDim]}. Blocks are the unit of allocation; a sequence's tokens live in the
 * blocks of its block table, in order. Heads lead so that gathering a sequence's blocks yields
 * {@code [numKvHeads, blocks, blockSize, headDim]}, which reshapes to {@code [numKvHeads, tokens, headDim]} without a copy.
 */
public interface PagedKvCache {
    NDArray keys(int layer);

    NDArray values(int layer);

    int blockSize();

    int numBlocks();
}
