package dev.rollout.trainer.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {
    static final List<String> NUMBER_KEYS = List.of("max_staleness", "steps_per_minute", "generated_tokens_per_second",
            "trainer_idle_fraction", "server_idle_fraction", "staleness_max", "reward_first", "reward_last",
            "train_seconds_per_step", "sync_seconds_per_step", "trainer_cpu_seconds_per_step",
            "server_cpu_seconds_per_step");

    @TempDir
    Path tmp;

    private static BenchResult result(String name, boolean async, double stepsPerMinute) {
        return new BenchResult(name, async ? "async" : "sync", async ? 2 : 0, "recompute", 4, 60, stepsPerMinute, 100,
                0.5, 0.25, async ? 2 : 0, 0.1, 0.3, 12.5, 0.75, 14.0, 9.5, LengthStats.of(List.of(10, 20, 30)));
    }

    private static final BenchReport.Setting SETTING =
            new BenchReport.Setting("tiny", "a workload", "unpinned (--no-pin)", 1.5, 2.5, 60, 1);

    @Test
    void jsonHasARunsListWithEveryKeyAndItsType() throws Exception {
        BenchReport.write(tmp, SETTING, List.of(result("sync", false, 2), result("async-s2", true, 4)));

        JsonNode json = new ObjectMapper().readTree(tmp.resolve(BenchReport.JSON).toFile());
        assertTrue(json.get("runs").isArray());
        assertEquals(2, json.get("runs").size());
        for (JsonNode run : json.get("runs")) {
            assertTrue(run.get("mode").isTextual());
            assertTrue(List.of("sync", "async").contains(run.get("mode").asText()));
            assertTrue(run.get("inflight_weight_update").isTextual());
            for (String key : NUMBER_KEYS) {
                assertTrue(run.hasNonNull(key) && run.get(key).isNumber(), key + " in " + run);
            }
        }
        assertEquals("async", json.get("runs").get(1).get("mode").asText());
        assertEquals(2, json.get("runs").get(1).get("max_staleness").asInt());
        assertEquals(1.5, json.get("load_average_start").asDouble());
    }

    @Test
    void markdownGivesEachRunsRatioToSyncAndTheLoadAverage() throws Exception {
        String md = BenchReport.markdown(SETTING, List.of(result("sync", false, 2), result("async-s2", true, 5)));

        assertTrue(md.contains("| async-s2 | async | 2 | recompute | 4 | 5.00 | 2.50× |"), md);
        assertTrue(md.contains("| sync | sync | - | - | 4 | 2.00 | 1.00× |"), md);
        assertTrue(md.contains("1.50 at start, 2.50 at end"), md);
        assertTrue(md.contains("| 50.0% | 25.0% | 12.5 | 0.75 | 14.0 | 9.5 |"), md);
    }

    @Test
    void writesAPng() throws Exception {
        BenchReport.write(tmp, SETTING, List.of(result("sync", false, 2)));

        byte[] png = Files.readAllBytes(tmp.resolve(BenchReport.PNG));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    }
}
