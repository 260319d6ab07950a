package dev.rollout.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The engine's meters (names per the design's metrics list; Prometheus adds the {@code _total}/{@code _seconds}).
 * Closing removes them from the registry, so that a later engine on the same registry publishes its own values.
 */
final class EngineMetrics implements AutoCloseable {
    final Counter generatedTokens;
    final Counter promptTokens;
    final Counter prefixCacheHitTokens;
    final Counter preemptions;
    final Timer step;
    final Timer timeToFirstToken;
    final java.util.Map<InflightWeightUpdate, Counter> inflightWeightUpdates = new java.util.EnumMap<>(InflightWeightUpdate.class);
    private final MeterRegistry registry;
    private final List<Meter> meters = new ArrayList<>();
    private final Supplier<Number> blocksTotal;

    EngineMetrics(MeterRegistry registry, Supplier<Number> running, Supplier<Number> waiting,
                  Supplier<Number> blocksUsed, Supplier<Number> blocksTotal, Supplier<Number> weightVersion) {
        this.registry = registry;
        generatedTokens = Counter.builder("rollout.generated.tokens").description("Tokens sampled").register(registry);
        promptTokens = Counter.builder("rollout.prompt.tokens").description("Prompt tokens received").register(registry);
        prefixCacheHitTokens = Counter.builder("rollout.prefix.cache.hit.tokens")
                .description("Prompt tokens whose K/V was found in the prefix cache").register(registry);
        preemptions = Counter.builder("rollout.preemptions")
                .description("Sequences preempted (blocks freed, recomputed later)").register(registry);
        step = Timer.builder("rollout.step").description("Engine step: schedule, forward, sample").register(registry);
        timeToFirstToken = Timer.builder("rollout.time.to.first.token")
                .description("From submission to the first sampled token").register(registry);
        meters.addAll(List.of(generatedTokens, promptTokens, prefixCacheHitTokens, preemptions, step, timeToFirstToken));
        gauge(registry, "rollout.running.sequences", "Sequences being decoded or prefilled", running);
        gauge(registry, "rollout.waiting.sequences", "Sequences queued", waiting);
        gauge(registry, "rollout.kv.cache.blocks.used", "KV cache blocks referenced by sequences", blocksUsed);
        // The cache's size, constant for the engine's life. A counter, not a gauge, so that it keeps the name
        // rollout_kv_cache_blocks_total: the Prometheus client strips _total from gauges.
        this.blocksTotal = blocksTotal; // a function counter holds its object weakly
        meters.add(FunctionCounter.builder("rollout.kv.cache.blocks", this.blocksTotal, s -> s.get().doubleValue())
                .description("KV cache blocks in all").register(registry));
        gauge(registry, "rollout.weight.version", "Version of the weights being served", weightVersion);
        for (InflightWeightUpdate mode : InflightWeightUpdate.values()) {
            Counter c = Counter.builder("rollout.inflight.weight.updates").tag("mode", mode.label())
                    .description("Sequences with tokens from the old weights still running when new weights were applied")
                    .register(registry);
            inflightWeightUpdates.put(mode, c);
            meters.add(c);
        }
    }

    /** Counts one step's sampled tokens, and the time to first token of the sequences that sampled their first. */
    void recordSampled(List<BatchSampler.Draw> draws) {
        generatedTokens.increment(draws.size());
        long now = System.nanoTime();
        for (BatchSampler.Draw d : draws) {
            if (d.sequence().numGeneratedTokens() == 1) {
                timeToFirstToken.record(now - d.sequence().arrivalNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    void recordStep(long nanos) {
        step.record(nanos, TimeUnit.NANOSECONDS);
    }

    private void gauge(MeterRegistry registry, String name, String description, Supplier<Number> value) {
        meters.add(Gauge.builder(name, value).description(description).register(registry));
    }

    @Override
    public void close() {
        meters.forEach(registry::remove);
    }
}
