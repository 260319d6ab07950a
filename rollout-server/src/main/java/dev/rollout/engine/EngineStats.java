package dev.rollout.engine;

/**
 * Counters since the engine started, as of the last step. {@code computedPromptTokens} counts prompt positions that
 * went through a forward (a prompt shared by n samples counts once; a recompute after preemption counts again);
 * {@code peakUsedBlocks} is the most KV cache blocks referenced at once.
 */
public record EngineStats(long steps, long computedPromptTokens, long generatedTokens, long cacheHitTokens,
                          long preemptions, int peakUsedBlocks, long peakKvCacheBytes) {}
