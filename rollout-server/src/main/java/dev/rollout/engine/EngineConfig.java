package dev.rollout.engine;

import ai.djl.Device;

/**
 * Settings of one engine. {@code numBlocks} 0 sizes the KV cache from {@code maxMemoryPercent} of the memory left after
 * the weights and the activations of a {@code maxBatchTokens} step, and on the CPU to at most {@code cpuKvCacheBytes}
 * (as vLLM's CPU backend, a fixed budget: a CPU shares its RAM with everything else on the machine). The engine runs where the model's weights are;
 * {@code device}, when not null, is where they must be (the server loads the model there).
 */
public record EngineConfig(int blockSize, int numBlocks, double maxMemoryPercent, int maxBatchTokens, int maxNumSeqs,
                           SchedulerKind scheduler, Device device, long cpuKvCacheBytes) {

    /** The CPU cache's budget unless set: 4 GiB, vLLM's CPU default (VLLM_CPU_KVCACHE_SPACE). */
    public static final long DEFAULT_CPU_KV_CACHE_BYTES = 4L << 30;

    /** With the default CPU cache budget. */
    public EngineConfig(int blockSize, int numBlocks, double maxMemoryPercent, int maxBatchTokens, int maxNumSeqs,
                        SchedulerKind scheduler, Device device) {
        this(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device, DEFAULT_CPU_KV_CACHE_BYTES);
    }

    /** CONTINUOUS: vLLM-style continuous batching. STATIC: the padded {@code generate()}-style baseline. */
    public enum SchedulerKind { CONTINUOUS, STATIC }

    public EngineConfig {
        scheduler = scheduler == null ? SchedulerKind.CONTINUOUS : scheduler;
        require(blockSize > 0, "block size must be positive, got " + blockSize);
        require(numBlocks >= 0, "num blocks must be >= 0 (0 sizes the cache from memory), got " + numBlocks);
        require(maxMemoryPercent > 0 && maxMemoryPercent <= 1,
                "max memory percent must be a fraction in (0, 1], got " + maxMemoryPercent);
        require(maxBatchTokens > 0, "max batch tokens must be positive, got " + maxBatchTokens);
        require(maxNumSeqs > 0, "max num seqs must be positive, got " + maxNumSeqs);
        require(cpuKvCacheBytes > 0, "the CPU KV cache space must be positive, got " + cpuKvCacheBytes);
    }

    /**
     * Block size 16, cache from 90% of free memory (at most 4 GiB on the CPU), 2048 tokens and 256 sequences per step,
     * continuous batching.
     */
    public static EngineConfig defaults() {
        return new EngineConfig(16, 0, 0.9, 2048, 256, SchedulerKind.CONTINUOUS, null);
    }

    public EngineConfig withBlockSize(int value) {
        return new EngineConfig(value, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device, cpuKvCacheBytes);
    }

    public EngineConfig withNumBlocks(int value) {
        return new EngineConfig(blockSize, value, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device, cpuKvCacheBytes);
    }

    public EngineConfig withMaxMemoryPercent(double value) {
        return new EngineConfig(blockSize, numBlocks, value, maxBatchTokens, maxNumSeqs, scheduler, device, cpuKvCacheBytes);
    }

    public EngineConfig withMaxBatchTokens(int value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, value, maxNumSeqs, scheduler, device, cpuKvCacheBytes);
    }

    public EngineConfig withMaxNumSeqs(int value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, value, scheduler, device, cpuKvCacheBytes);
    }

    public EngineConfig withScheduler(SchedulerKind value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, value, device, cpuKvCacheBytes);
    }

    public EngineConfig withDevice(Device value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, value, cpuKvCacheBytes);
    }

    public EngineConfig withCpuKvCacheBytes(long value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device, value);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
