package dev.rollout.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Per-step metrics under TRL's names: one JSON line per step in {@code metrics.jsonl}, and the latest value of each as
 * a gauge on the trainer's {@code /metrics}. The Prometheus name is {@code rollout_trainer_} + the TRL name with
 * {@code /} as {@code _}; durations end in {@code _seconds}; per-function rewards share one name with a
 * {@code function} label ({@code rewards/accuracy/mean} is {@code rollout_trainer_rewards_mean{function="accuracy"}}).
 * deploy/README.md lists them; the Grafana dashboard queries them.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;
    private final MeterRegistry registry;
    private final Map<String, AtomicReference<Double>> latest = new ConcurrentHashMap<>();

    /** Appends to {@code file}, so a resumed run continues the same log. */
    public MetricsLog(Path file, MeterRegistry registry) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        this.registry = registry;
    }

    /** A gauge's Prometheus name and labels. */
    record PrometheusMetric(String name, Tags tags) {}

    static PrometheusMetric prometheusName(String trlName) {
        String[] parts = trlName.split("/");
        if (parts.length == 3 && parts[0].equals("rewards")) {
            return new PrometheusMetric("rollout_trainer_rewards_" + parts[2], Tags.of("function", parts[1]));
        }
        String name = "rollout_trainer_" + trlName.replaceAll("[^a-zA-Z0-9]", "_").replace("sampling_sampling_", "sampling_");
        if (trlName.startsWith("time/") || trlName.equals("step_time")) {
            name += "_seconds";
        }
        return new PrometheusMetric(name, Tags.empty());
    }

    public void record(int step, Map<String, Double> metrics) throws IOException {
        ObjectNode line = JSON.createObjectNode();
        line.put("step", step);
        metrics.forEach((k, v) -> {
            if (v == null || v.isNaN() || v.isInfinite()) {
                line.putNull(k);
            } else {
                line.put(k, v);
            }
            if (registry != null) {
                latest.computeIfAbsent(k, name -> {
                    AtomicReference<Double> ref = new AtomicReference<>(Double.NaN);
                    PrometheusMetric metric = prometheusName(name);
                    Gauge.builder(metric.name(), ref, r -> r.get()).tags(metric.tags()).description("TRL metric " + name)
                            .register(registry);
                    return ref;
                }).set(v == null ? Double.NaN : v);
            }
        });
        if (registry != null) {
            latest.computeIfAbsent("global_step", name -> {
                AtomicReference<Double> ref = new AtomicReference<>(0.0);
                Gauge.builder(prometheusName(name).name(), ref, r -> r.get()).description("optimizer steps taken")
                        .register(registry);
                return ref;
            }).set((double) step);
        }
        out.write(JSON.writeValueAsString(line));
        out.newLine();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
