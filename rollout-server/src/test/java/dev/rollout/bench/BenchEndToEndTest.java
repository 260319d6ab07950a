package dev.rollout.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tiny.ModelPresets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The whole {@code bench} command on the tiny preset with tiny settings, checked through what it writes. */
class BenchEndToEndTest {
    private static final int PROMPTS = 2;
    private static final int MAX_TOKENS = 24;
    private static final long SEED = 5;
    private static final int BLOCK_SIZE = 16;

    @TempDir
    static Path out;
    private static JsonNode json;

    @BeforeAll
    static void runBench() throws Exception {
        int exit = new CommandLine(new BenchCommand()).execute("--model", "tiny", "--seed", Long.toString(SEED),
                "--prompts", Integer.toString(PROMPTS), "--generations", "2,4", "--max-tokens", Integer.toString(MAX_TOKENS),
                "--reps", "2", "--equal-memory-batch", "3", "--no-warmup", "--roofline-model", "tiny",
                "--roofline-batches", "1,2", "--roofline-context", "20", "--roofline-steps", "2", "--gemm-size", "64", "--quick",
                "--out", out.toString());
        assertEquals(0, exit);
        json = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
    }

    private static List<JsonNode> allScenarios() {
        List<JsonNode> all = new java.util.ArrayList<>();
        json.get("scenarios").forEach(all::add);
        json.get("equal_memory_scenarios").forEach(all::add);
        return all;
    }

    @Test
    void bothComparisonsHaveOneEntryPerGenerationsValueInOrder() {
        for (String list : List.of("scenarios", "equal_memory_scenarios")) {
            int[] generations = new int[json.get(list).size()];
            for (int i = 0; i < generations.length; i++) {
                generations[i] = json.get(list).get(i).get("generations").asInt();
            }
            assertArrayEquals(new int[] {2, 4}, generations, list);
        }
    }

    @Test
    void everySchedulerEntryCarriesTheRequiredFields() {
        for (JsonNode s : allScenarios()) {
            assertTrue(s.get("speedup").isNumber());
            for (String scheduler : List.of("continuous", "static")) {
                for (String field : List.of("tokens_per_second", "wall_seconds_mean", "wall_seconds_std", "peak_kv_bytes")) {
                    assertTrue(s.get(scheduler).get(field).isNumber(), scheduler + "." + field + " in " + s);
                }
            }
        }
    }

    @Test
    void bothSchedulersGenerateExactlyTheWorkloadsForcedTokens() {
        for (JsonNode s : allScenarios()) {
            int generations = s.get("generations").asInt();
            // The workload the bench drew for this scenario, regenerated here: its forced lengths summed.
            Workload w = Workload.generate(PROMPTS, generations, MAX_TOKENS, ModelPresets.config("tiny").vocabSize(),
                    ModelPresets.config("tiny").maxPositionEmbeddings() - MAX_TOKENS, SEED + generations);
            long forced = Arrays.stream(w.lengths()).flatMapToInt(Arrays::stream).sum();
            assertEquals(forced, s.get("continuous").get("output_tokens").asLong());
            assertEquals(forced, s.get("static").get("output_tokens").asLong());
        }
    }

    @Test
    void speedupIsTheRatioOfTheMeasuredMeanWallTimes() {
        for (JsonNode s : allScenarios()) {
            double expected = s.get("static").get("wall_seconds_mean").asDouble()
                    / s.get("continuous").get("wall_seconds_mean").asDouble();
            assertEquals(expected, s.get("speedup").asDouble(), 1e-12);
        }
    }

    @Test
    void throughputIsOutputTokensOverMeanWallTime() {
        for (JsonNode s : allScenarios()) {
            for (String scheduler : List.of("continuous", "static")) {
                JsonNode x = s.get(scheduler);
                assertEquals(x.get("output_tokens").asDouble() / x.get("wall_seconds_mean").asDouble(),
                        x.get("tokens_per_second").asDouble(), 1e-9);
                assertTrue(x.get("wall_seconds_std").asDouble() >= 0);
            }
        }
    }

    @Test
    void staticReservesTheDenseCacheOfEverySequenceAtLongestPromptPlusMaxTokens() {
        long bytesPerBlock = ModelPresets.config("tiny").kvBytesPerToken() * BLOCK_SIZE;
        for (JsonNode s : json.get("scenarios")) {
            long blocksPerSequence = (s.get("longest_prompt").asLong() + MAX_TOKENS + BLOCK_SIZE - 1) / BLOCK_SIZE;
            assertEquals(s.get("sequences").asLong() * blocksPerSequence * bytesPerBlock,
                    s.get("static").get("peak_kv_bytes").asLong());
        }
    }

    @Test
    void staticPeakKvIsAtLeastContinuousPeakKvWhenStaticTakesEverySequenceAtOnce() {
        for (JsonNode s : json.get("scenarios")) {
            long continuous = s.get("continuous").get("peak_kv_bytes").asLong();
            assertTrue(continuous > 0);
            assertTrue(s.get("static").get("peak_kv_bytes").asLong() >= continuous, s.toString());
        }
    }

    @Test
    void equalMemoryGivesBothSchedulersTheSameCacheAndContinuousStaysWithinIt() {
        for (JsonNode s : json.get("equal_memory_scenarios")) {
            long given = s.get("static").get("kv_cache_bytes").asLong();
            assertEquals(given, s.get("continuous").get("kv_cache_bytes").asLong());
            assertTrue(s.get("continuous").get("peak_kv_bytes").asLong() <= given);
        }
    }

    @Test
    void continuousComputesEachPromptAboutOnceWhileStaticPrefillsEverySample() {
        for (JsonNode s : json.get("scenarios")) {
            long promptTokens = s.get("prompt_tokens").asLong();
            assertEquals(promptTokens, s.get("static").get("computed_prompt_tokens").asLong());
            int generations = s.get("generations").asInt();
            // Each later sample recomputes at most its prompt's last partial block plus one token.
            long atMost = promptTokens / generations + (long) PROMPTS * (generations - 1) * BLOCK_SIZE;
            assertTrue(s.get("continuous").get("computed_prompt_tokens").asLong() <= atMost, s.toString());
        }
    }

    @Test
    void theRooflineReportsEachBatchAgainstAPositiveFloor() {
        JsonNode decode = json.get("roofline").get("decode");
        assertEquals(2, decode.size());
        for (JsonNode p : decode) {
            assertTrue(p.get("floor_seconds").asDouble() > 0);
            assertTrue(p.get("engine_step_seconds").asDouble() > 0);
            double share = p.get("outside_tensor_math_share").asDouble();
            assertTrue(share >= 0 && share <= 1, "share " + share);
            // decode attention on CPU runs in the Java kernel, which the model step's time must include
            double kernel = p.get("java_kernel_seconds").asDouble();
            assertTrue(kernel > 0 && kernel < p.get("model_step_seconds").asDouble(), "java kernel " + kernel + " s");
        }
        assertTrue(json.get("ceilings").get("gemm_flops_per_second").asDouble() > 0);
    }

    @Test
    void writesAPngPlotAndTheMarkdownTables() throws Exception {
        byte[] png = Files.readAllBytes(out.resolve("bench.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        String md = Files.readString(out.resolve("bench.md"));
        assertTrue(md.contains("| Generations per prompt |"));
        assertTrue(md.contains("Roofline"));
    }

    @Test
    void quickRunsTheScalingTablesSmallGridOnTheRooflineModel() {
        JsonNode scaling = json.get("scaling");
        assertEquals("tiny", scaling.get("model").asText());
        assertEquals("[1,8]", scaling.get("batches").toString());
        assertEquals("[64,256]", scaling.get("contexts").toString());
        assertEquals(2 * 2 * 2, scaling.get("cells").size());
    }
}
