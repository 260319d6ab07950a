package dev.rollout.bench;

import dev.rollout.engine.EngineConfig;

/**
 * One measured run of a workload on one engine. {@code peakKvBytes}: for continuous batching the most KV-cache blocks
 * referenced at once times the bytes per block (the engine's block accounting); for the static baseline the dense cache
 * it reserves, batch × (longest prompt + max_tokens), as {@code generate()} allocates it. {@code kvCacheBytes}: the
 * cache the engine was given. {@code computedPromptTokens}: prompt positions that went through a forward.
 */
record RunResult(EngineConfig.SchedulerKind scheduler, double wallSeconds, long outputTokens, long peakKvBytes, long kvCacheBytes,
                 long peakRssBytes, long prefixCacheHitTokens, long computedPromptTokens, long preemptions, long steps) {

    double tokensPerSecond() {
        return outputTokens / wallSeconds;
    }
}
