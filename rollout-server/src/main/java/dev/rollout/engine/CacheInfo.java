package dev.rollout.engine;

/** The paged KV cache: its geometry, how many blocks are free (unreferenced, cached or not) and its size in bytes. */
public record CacheInfo(int blockSize, int numBlocks, int freeBlocks, long bytes) {}
