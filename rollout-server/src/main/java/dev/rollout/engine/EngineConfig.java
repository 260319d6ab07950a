package dev.rollout.engine;

import ai.djl.Device;
import dev.rollout.model.AttentionBackend;

/**
 * Settings of one engine. {@code numBlocks} 0 sizes the KV cache from {@code maxMemoryPercent} of the memory left after
 * the weights and the activations of a {@code maxBatchTokens} step, and on the CPU to at most {@code cpuKvCacheBytes}
 * (as vLLM's CPU backend, a fixed budget: a CPU shares its RAM with everything else on the machine). The engine runs
 * where the model's weights are; {@code device}, when not null, is where they must be (the server loads the model
 * there). {@code attentionBackend}: how paged attention runs ({@link AttentionBackend}; null means auto).
 */
public record EngineConfig(int blockSize, int numBlocks, double maxMemoryPercent, int maxBatchTokens, int maxNumSeqs,
                           SchedulerKind scheduler, Device device, long cpuKvCacheBytes, AttentionBackend attentionBackend) {

    /** The CPU cache's budget unless set: 4 GiB, vLLM's CPU default (VLLM_CPU_KVCACHE_SPACE). */
    public static final long DEFAULT_CPU_KV_CACHE_BYTES = 4L << 30;

    /** CONTINUOUS: vLLM-style continuous batching. STATIC: the padded {@code generate()}-style baseline. */
    public enum SchedulerKind {
        CONTINUOUS, STATIC;

        /** The name as the {@code --scheduler} flag and the benchmark tables spell it. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public EngineConfig {
        scheduler = scheduler == null ? SchedulerKind.CONTINUOUS : scheduler;
        attentionBackend = attentionBackend == null ? AttentionBackend.AUTO : attentionBackend;
        require(blockSize > 0, "block size must be positive, got " + blockSize);
        require(numBlocks >= 0, "num blocks must be >= 0 (0 sizes the cache from memory), got " + numBlocks);
        require(maxMemoryPercent > 0 && maxMemoryPercent <= 1,
                "max memory percent must be a fraction in (0, 1], got " + maxMemoryPercent);
        require(maxBatchTokens > 0, "max batch tokens must be positive, got " + maxBatchTokens);
        require(maxNumSeqs > 0, "max num seqs must be positive, got " + maxNumSeqs);
        require(cpuKvCacheBytes > 0, "the CPU KV cache space must be positive, got " + cpuKvCacheBytes);
    }

    /** With the default CPU cache budget and the auto attention backend. */
    public EngineConfig(int blockSize, int numBlocks, double maxMemoryPercent, int maxBatchTokens, int maxNumSeqs,
                        SchedulerKind scheduler, Device device) {
        this(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device,
                DEFAULT_CPU_KV_CACHE_BYTES, AttentionBackend.AUTO);
    }

    /**
     * Block size 16, cache from 90% of free memory (at most 4 GiB on the CPU), 2048 tokens and 256 sequences per step,
     * continuous batching, the auto attention backend.
     */
    public static EngineConfig defaults() {
        return new EngineConfig(16, 0, 0.9, 2048, 256, SchedulerKind.CONTINUOUS, null);
    }

    public EngineConfig withBlockSize(int value) {
        return new EngineConfig(value, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withNumBlocks(int value) {
        return new EngineConfig(blockSize, value, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withMaxMemoryPercent(double value) {
        return new EngineConfig(blockSize, numBlocks, value, maxBatchTokens, maxNumSeqs, scheduler, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withMaxBatchTokens(int value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, value, maxNumSeqs, scheduler, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withMaxNumSeqs(int value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, value, scheduler, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withScheduler(SchedulerKind value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, value, device,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withDevice(Device value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, value,
                cpuKvCacheBytes, attentionBackend);
    }

    public EngineConfig withCpuKvCacheBytes(long value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device,
                value, attentionBackend);
    }

    public EngineConfig withAttentionBackend(AttentionBackend value) {
        return new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens, maxNumSeqs, scheduler, device,
                cpuKvCacheBytes, value);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
