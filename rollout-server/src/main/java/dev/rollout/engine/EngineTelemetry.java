package dev.rollout.engine;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.Supplier;

/**
 * The engine's counts, in their two views: the {@link EngineStats} snapshot and queue sizes other threads read, and
 * the Micrometer meters. The engine thread updates the counts and {@link #publish publishes} them after every change,
 * so a reader never locks and never sees a half-updated step.
 */
final class EngineTelemetry implements AutoCloseable {
    private final long bytesPerBlock;
    private final EngineMetrics metrics;
    private volatile int running;
    private volatile int waiting;
    private volatile int freeBlocks;
    private volatile EngineStats stats = new EngineStats(0, 0, 0, 0, 0, 0, 0);
    private long steps;
    private long computedPromptTokens;
    private long generatedTokens;
    private int peakUsedBlocks;

    EngineTelemetry(MeterRegistry registry, int numBlocks, long bytesPerBlock, Supplier<Number> weightVersion) {
        this.bytesPerBlock = bytesPerBlock;
        this.freeBlocks = numBlocks;
        this.metrics = new EngineMetrics(registry, () -> running, () -> waiting, () -> numBlocks - freeBlocks,
                () -> numBlocks, weightVersion);
    }

    void admitted(int promptTokens) {
        metrics.promptTokens.increment(promptTokens);
    }

    void scheduled(int usedBlocks) {
        peakUsedBlocks = Math.max(peakUsedBlocks, usedBlocks);
    }

    void computing(long promptTokens) {
        computedPromptTokens += promptTokens;
    }

    /** Counts a step that sampled {@code draws}; the meters get what the scheduler counted since the last snapshot. */
    void sampled(List<BatchSampler.Draw> draws, Scheduler scheduler) {
        steps++;
        generatedTokens += draws.size();
        metrics.recordSampled(draws);
        metrics.preemptions.increment(scheduler.numPreemptions() - stats.preemptions());
        metrics.prefixCacheHitTokens.increment(scheduler.numCacheHitTokens() - stats.cacheHitTokens());
    }

    /** {@code count} sequences with tokens from the old weights went on across a swap, handled as {@code mode} says. */
    void carriedAcrossSwap(InflightWeightUpdate mode, int count) {
        metrics.inflightWeightUpdates.get(mode).increment(count);
    }

    void stepTook(long nanos) {
        metrics.recordStep(nanos);
    }

    void publish(Scheduler scheduler, BlockManager blocks) {
        running = scheduler.numRunning();
        waiting = scheduler.numWaiting();
        freeBlocks = blocks.numFreeBlocks();
        stats = new EngineStats(steps, computedPromptTokens, generatedTokens, scheduler.numCacheHitTokens(),
                scheduler.numPreemptions(), peakUsedBlocks, peakUsedBlocks * bytesPerBlock);
    }

    int running() {
        return running;
    }

    int waiting() {
        return waiting;
    }

    int freeBlocks() {
        return freeBlocks;
    }

    EngineStats stats() {
        return stats;
    }

    /** Removes the meters from the registry, so that a later engine on it publishes its own. */
    @Override
    public void close() {
        metrics.close();
    }
}
