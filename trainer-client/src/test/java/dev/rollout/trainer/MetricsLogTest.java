package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @TempDir
    Path dir;

    private static Map<String, Double> step(double reward) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("reward", reward);
        m.put("rewards/accuracy/mean", reward);
        m.put("sampling/sampling_logp_difference/mean", 1e-7);
        m.put("sampling/importance_sampling_ratio/mean", 1.0);
        m.put("clip_ratio/region_mean", 0.0);
        m.put("time/generate", 0.25);
        m.put("step_time", 1.5);
        m.put("kl", Double.NaN);
        return m;
    }

    @Test
    void writesOneJsonLinePerStepWithTrlNames() throws Exception {
        try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"), null)) {
            log.record(1, step(0.25));
            log.record(2, step(0.5));
        }
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(2, lines.size());
        JsonNode second = new ObjectMapper().readTree(lines.get(1));
        assertEquals(2, second.get("step").asInt());
        assertEquals(0.5, second.get("rewards/accuracy/mean").asDouble());
        assertTrue(second.get("kl").isNull(), "NaN is written as null, which JSON can hold");
    }

    @Test
    void appendsWhenReopenedSoAResumedRunContinuesTheLog() throws Exception {
        try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"), null)) {
            log.record(1, step(0.1));
        }
        try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"), null)) {
            log.record(2, step(0.2));
        }
        assertEquals(2, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    }

    @Test
    void exportsTheLatestValuesUnderTheNamesTheDashboardQueries() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (MetricsLog log = new MetricsLog(dir.resolve("metrics.jsonl"), registry)) {
            log.record(1, step(0.25));
            log.record(7, step(0.75));
        }
        String scrape = registry.scrape();
        assertTrue(scrape.contains("rollout_trainer_reward 0.75"), scrape);
        assertTrue(scrape.contains("rollout_trainer_rewards_mean{function=\"accuracy\"} 0.75"), scrape);
        assertTrue(scrape.contains("rollout_trainer_sampling_logp_difference_mean 1.0E-7"), scrape);
        assertTrue(scrape.contains("rollout_trainer_sampling_importance_sampling_ratio_mean 1.0"), scrape);
        assertTrue(scrape.contains("rollout_trainer_clip_ratio_region_mean 0.0"), scrape);
        assertTrue(scrape.contains("rollout_trainer_time_generate_seconds 0.25"), scrape);
        assertTrue(scrape.contains("rollout_trainer_step_time_seconds 1.5"), scrape);
        assertTrue(scrape.contains("rollout_trainer_global_step 7.0"), scrape);
    }

    private List<Integer> steps(Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Integer> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(json.readTree(line).get("step").asInt());
        }
        return out;
    }

    @Test
    void continuingAfterACheckpointMovesTheRowsOfLaterStepsAsideSoNoStepAppearsTwice() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file, null)) {
            for (int s = 1; s <= 12; s++) {
                log.record(s, step(s / 100.0));
            }
        }
        try (MetricsLog log = MetricsLog.continuingAfter(file, 10, null)) {
            log.record(11, step(0.11));
            log.record(12, step(0.12));
        }

        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), steps(file));
        assertEquals(List.of(11, 12), steps(dir.resolve(MetricsLog.SUPERSEDED_FILE)), "the replaced rows are kept aside");
    }

    @Test
    void aLineCutShortByACrashIsMovedAsideToo() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file, null)) {
            log.record(1, step(0.1));
            log.record(2, step(0.2));
        }
        Files.writeString(file, "{\"step\":3,\"rew", java.nio.file.StandardOpenOption.APPEND);

        try (MetricsLog log = MetricsLog.continuingAfter(file, 2, null)) {
            log.record(3, step(0.3));
        }

        assertEquals(List.of(1, 2, 3), steps(file));
        assertEquals(List.of("{\"step\":3,\"rew"), Files.readAllLines(dir.resolve(MetricsLog.SUPERSEDED_FILE)));
    }

    @Test
    void continuingALogWithNothingAfterTheCheckpointLeavesItAsItIs() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(file, null)) {
            log.record(1, step(0.1));
        }
        byte[] before = Files.readAllBytes(file);

        MetricsLog.continuingAfter(file, 1, null).close();

        org.junit.jupiter.api.Assertions.assertArrayEquals(before, Files.readAllBytes(file));
        assertTrue(Files.notExists(dir.resolve(MetricsLog.SUPERSEDED_FILE)));
    }
}
