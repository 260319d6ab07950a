package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** deploy/grafana/rollout-dashboard.json parses, queries only metrics that exist, and shows what operators need. */
class GrafanaDashboardTest {

    static JsonNode dashboard() throws IOException {
        return new ObjectMapper().readTree(DeployPaths.dashboard().toFile());
    }

    /** Every PromQL expression of every panel. */
    static List<String> expressions() throws IOException {
        List<String> expressions = new ArrayList<>();
        for (JsonNode panel : dashboard().path("panels")) {
            panel.path("targets").forEach(target -> expressions.add(target.path("expr").asText()));
        }
        return expressions;
    }

    /** Every rollout_* metric the dashboard reads. */
    static Set<String> queriedMetrics() throws IOException {
        Set<String> names = new TreeSet<>();
        expressions().forEach(e -> names.addAll(MetricNames.inExpression(e)));
        return names;
    }

    /** The queried metrics that the server exports (the rest are the trainer's). */
    static Set<String> queriedServerMetrics() throws IOException {
        Set<String> names = new TreeSet<>(queriedMetrics());
        names.removeIf(name -> name.startsWith("rollout_trainer_"));
        return names;
    }

    private static Set<String> panelTitles() throws IOException {
        Set<String> titles = new HashSet<>();
        dashboard().path("panels").forEach(panel -> titles.add(panel.path("title").asText()));
        return titles;
    }

    @Test
    void everyServerMetricItQueriesIsOneTheDesignNames() throws IOException {
        Set<String> unknown = new TreeSet<>();
        for (String name : queriedServerMetrics()) {
            if (!MetricNames.isKnown(name, MetricNames.SERVER)) {
                unknown.add(name);
            }
        }
        assertEquals(Set.of(), unknown, "server metrics the dashboard queries but the server does not export");
    }

    @Test
    void everyTrainerMetricItQueriesIsListedInTheReadme() throws IOException {
        Set<String> listed = MetricNames.trainerNamesInReadme(DeployPaths.readme());
        Set<String> unlisted = new TreeSet<>();
        for (String name : queriedMetrics()) {
            if (name.startsWith("rollout_trainer_") && !listed.contains(name)) {
                unlisted.add(name);
            }
        }
        assertEquals(Set.of(), unlisted, "trainer metrics the dashboard queries but deploy/README.md does not list");
    }

    @Test
    void showsThroughputBatchingCacheSyncAndTraining() throws IOException {
        Set<String> queried = queriedMetrics();
        for (String needed : List.of(
                "rollout_generated_tokens_total", "rollout_running_sequences", "rollout_waiting_sequences",
                "rollout_kv_cache_blocks_used", "rollout_kv_cache_blocks_total", "rollout_prefix_cache_hit_tokens_total",
                "rollout_step_seconds_sum", "rollout_weight_version", "rollout_weight_sync_seconds_sum",
                "rollout_trainer_reward", "rollout_trainer_loss")) {
            assertTrue(queried.contains(needed), "the dashboard shows " + needed);
        }
    }

    @Test
    void everyPanelHasATitleAndUniqueId() throws IOException {
        Set<Integer> ids = new HashSet<>();
        for (JsonNode panel : dashboard().path("panels")) {
            assertFalse(panel.path("title").asText().isBlank(), "panel " + panel.path("id") + " has a title");
            assertTrue(ids.add(panel.path("id").asInt()), "panel id " + panel.path("id") + " is unique");
        }
        assertTrue(panelTitles().contains("Tokens per second"));
    }

    @Test
    void everyQueryUsesTheDatasourceVariable() throws IOException {
        JsonNode dashboard = dashboard();
        assertEquals("datasource", dashboard.path("templating").path("list").get(0).path("type").asText());
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                assertEquals("${datasource}", target.path("datasource").path("uid").asText(), panel.path("title").asText());
                assertFalse(target.path("expr").asText().isBlank(), panel.path("title").asText() + " has a query");
            }
        }
    }
}
