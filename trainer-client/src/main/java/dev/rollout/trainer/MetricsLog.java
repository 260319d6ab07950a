package dev.rollout.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
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
 * a gauge on the trainer's {@code /metrics}, named {@code rollout_trainer_} + the TRL name with every character outside
 * [a-zA-Z0-9] turned into {@code _} (so {@code rewards/accuracy/mean} is {@code rollout_trainer_rewards_accuracy_mean}).
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

    public static String prometheusName(String trlName) {
        return "rollout_trainer_" + trlName.replaceAll("[^a-zA-Z0-9]", "_");
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
                    Gauge.builder(prometheusName(name), ref, r -> r.get()).description("TRL metric " + name).register(registry);
                    return ref;
                }).set(v == null ? Double.NaN : v);
            }
        });
        if (registry != null) {
            latest.computeIfAbsent("global_step", name -> {
                AtomicReference<Double> ref = new AtomicReference<>(0.0);
                Gauge.builder(prometheusName(name), ref, r -> r.get()).register(registry);
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
