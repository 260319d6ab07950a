package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** deploy/prometheus/prometheus.yml scrapes the server and the trainer on the ports their images expose. */
class PrometheusConfigTest {

    private static List<String> targets(String job) throws IOException {
        JsonNode config = Yaml.document(DeployPaths.prometheusConfig());
        for (JsonNode scrape : config.path("scrape_configs")) {
            if (scrape.path("job_name").asText().equals(job)) {
                assertEquals("/metrics", scrape.path("metrics_path").asText("/metrics"));
                List<String> targets = new ArrayList<>();
                scrape.path("static_configs").forEach(c -> c.path("targets").forEach(t -> targets.add(t.asText())));
                return targets;
            }
        }
        throw new AssertionError("prometheus.yml has no scrape job " + job);
    }

    @Test
    void scrapesTheServerOnItsMetricsPort() throws IOException {
        assertEquals(List.of("rollout-server:9400"), targets("rollout-server"));
        assertTrue(Dockerfiles.exposedPorts("server").contains(9400));
    }

    @Test
    void scrapesTheTrainerOnItsMetricsPort() throws IOException {
        assertEquals(List.of("rollout-trainer:9401"), targets("rollout-trainer"));
        assertTrue(Dockerfiles.exposedPorts("trainer").contains(9401));
    }

    @Test
    void hasAGlobalScrapeInterval() throws IOException {
        JsonNode config = Yaml.document(DeployPaths.prometheusConfig());
        assertEquals("15s", config.path("global").path("scrape_interval").asText());
    }
}
