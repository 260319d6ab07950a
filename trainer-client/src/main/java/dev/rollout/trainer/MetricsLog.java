package dev.rollout.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.trainer.cli.TrainingPlot;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-step metrics under TRL's names: one JSON line per step in {@code metrics.jsonl}, and the latest value of each as
 * a gauge on the trainer's {@code /metrics}. The Prometheus name is {@code rollout_trainer_} + the TRL name with
 * {@code /} as {@code _}; durations end in {@code _seconds}; per-function rewards share one name with a
 * {@code function} label ({@code rewards/accuracy/mean} is {@code rollout_trainer_rewards_mean{function="accuracy"}}).
 * deploy/README.md lists them; the Grafana dashboard queries them.
 */
public final class MetricsLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where rows taken out of the log go, next to it, so that nothing written is lost. */
    static final String SUPERSEDED_FILE = "metrics.superseded.jsonl";
    private final BufferedWriter out;
    private final MeterRegistry registry;
    private final Map<String, AtomicReference<Double>> latest = new ConcurrentHashMap<>();

    /** Appends to {@code file}, so a resumed run continues the same log. */
    public MetricsLog(Path file, MeterRegistry registry) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        this.registry = registry;
    }

    /**
     * Opens {@code file} for a run whose next step is {@code lastStep + 1} (0 for a fresh run, N when resuming from
     * {@code checkpoint-N}). Rows of steps after {@code lastStep} (written by a run that went on past that checkpoint
     * before it stopped, or by an earlier run in the same folder) are about to be written again: they are moved to
     * {@value #SUPERSEDED_FILE} so that no step appears twice, and so is a line cut short by a crash. Says so in the log.
     */
    public static MetricsLog continuingAfter(Path file, int lastStep, MeterRegistry registry) throws IOException {
        if (Files.exists(file)) {
            dropRowsAfter(file, lastStep);
        }
        return new MetricsLog(file, registry);
    }

    private static void dropRowsAfter(Path file, int lastStep) throws IOException {
        List<String> kept = new ArrayList<>();
        List<String> dropped = new ArrayList<>();
        int droppedSteps = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            int step = stepOf(line);
            if (step >= 1 && step <= lastStep) {
                kept.add(line);
            } else {
                dropped.add(line);
                droppedSteps += step >= 1 ? 1 : 0;
            }
        }
        if (dropped.isEmpty()) {
            return;
        }
        Path superseded = file.resolveSibling(SUPERSEDED_FILE);
        Files.write(superseded, dropped, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Path rewritten = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(rewritten, kept, StandardCharsets.UTF_8);
        Files.move(rewritten, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LOG.warn("{}: moved {} row(s) of steps after {}{} to {}, so that no step appears twice; {} row(s) kept", file,
                droppedSteps, lastStep, dropped.size() > droppedSteps ? " and " + (dropped.size() - droppedSteps)
                        + " unreadable line(s)" : "", superseded.getFileName(), kept.size());
    }

    /** The plot points of the rows in {@code file} (a resumed run's plot starts at step 1, not at its checkpoint). */
    static List<TrainingPlot.Point> points(Path file) throws IOException {
        List<TrainingPlot.Point> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode row = JSON.readTree(line);
            out.add(new TrainingPlot.Point(row.path("step").asInt(), number(row, "reward"), number(row, "tokens_per_second")));
        }
        return out;
    }

    private static double number(JsonNode row, String key) {
        JsonNode v = row.get(key);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }

    /** The step of a metrics line, or -1 when the line is not one this log wrote whole. */
    private static int stepOf(String line) {
        try {
            JsonNode step = JSON.readTree(line).get("step");
            return step != null && step.canConvertToInt() ? step.asInt() : -1;
        } catch (IOException e) {
            return -1;
        }
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
