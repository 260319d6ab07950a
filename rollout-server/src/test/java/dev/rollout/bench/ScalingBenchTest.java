package dev.rollout.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.model.ModelConfig;
import dev.rollout.tiny.ModelPresets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The scaling table through the {@code bench} command on the tiny preset alone (scenarios and roofline skipped), on
 * a 2 × 2 grid whose KV limit leaves one cell out, checked through what it writes.
 */
class ScalingBenchTest {
    @TempDir
    static Path out;
    private static JsonNode scaling;

    @BeforeAll
    static void runBench() throws Exception {
        int exit = new CommandLine(new BenchCommand()).execute("--model", "tiny", "--roofline-model", "tiny",
                "--generations", "0", "--roofline-batches", "0", "--scaling-batches", "1,8", "--scaling-contexts", "64,256",
                "--scaling-steps", "1", "--scaling-kv-limit-mib", "1", "--gemm-size", "64", "--out", out.toString());
        assertEquals(0, exit);
        scaling = new ObjectMapper().readTree(out.resolve("bench.json").toFile()).get("scaling");
    }

    private static List<JsonNode> cells() {
        List<JsonNode> cells = new ArrayList<>();
        scaling.get("cells").forEach(cells::add);
        return cells;
    }

    private static JsonNode cell(String phase, int batch, int context) {
        return cells().stream().filter(c -> c.get("phase").asText().equals(phase) && c.get("batch").asInt() == batch
                && c.get("context").asInt() == context).findFirst().orElseThrow();
    }

    @Test
    void thereIsOneCellPerPhaseContextAndBatchDecodeFirst() {
        List<String> keys = cells().stream().map(c -> c.get("phase").asText() + "/" + c.get("context").asInt() + "/"
                + c.get("batch").asInt()).toList();
        assertEquals(List.of("decode/64/1", "decode/64/8", "decode/256/1", "decode/256/8",
                "prefill/64/1", "prefill/64/8", "prefill/256/1", "prefill/256/8"), keys);
    }

    @Test
    void aMeasuredCellCarriesItsSpeedAndItsRatioToTheFloor() {
        for (JsonNode c : cells()) {
            if (c.has("skipped")) {
                continue;
            }
            double step = c.get("step_seconds").asDouble();
            assertTrue(step > 0, c.toString());
            assertTrue(c.get("floor_seconds").asDouble() > 0, c.toString());
            assertEquals(c.get("tokens_per_step").asDouble() / step, c.get("tokens_per_second").asDouble(), 1e-6, c.toString());
            assertEquals(step / c.get("floor_seconds").asDouble(), c.get("step_over_floor").asDouble(), 1e-6, c.toString());
        }
    }

    @Test
    void aCellWhoseKvCacheExceedsTheLimitIsSkippedAndSaysWhy() {
        // tiny: 2 KiB of K/V per token; 8 x 256 tokens = 4 MiB over the 1 MiB limit, 8 x 64 = 1 MiB within it.
        for (String phase : List.of("decode", "prefill")) {
            JsonNode skipped = cell(phase, 8, 256);
            assertTrue(skipped.get("skipped").asText().contains("limit"), skipped.toString());
            assertFalse(skipped.has("step_seconds"), skipped.toString());
            assertFalse(cell(phase, 8, 64).has("skipped"));
        }
        assertEquals(6, cells().stream().filter(c -> !c.has("skipped")).count());
    }

    @Test
    void decodeComputesOneTokenPerSequenceAndPrefillTheBudgetSplitOverTheBatch() {
        assertEquals(1, cell("decode", 1, 64).get("tokens_per_step").asInt());
        assertEquals(8, cell("decode", 8, 64).get("tokens_per_step").asInt());
        // budget 2048 tokens, at most the context per sequence
        assertEquals(64, cell("prefill", 1, 64).get("tokens_per_step").asInt());
        assertEquals(512, cell("prefill", 8, 64).get("tokens_per_step").asInt());
        assertEquals(256, cell("prefill", 1, 256).get("tokens_per_step").asInt());
    }

    @Test
    void theMarkdownHasADecodeAndAPrefillTableWithAColumnPerContext() throws Exception {
        String md = Files.readString(out.resolve("bench.md"));
        assertTrue(md.contains("| decode | context 64 | context 256 |"), md);
        assertTrue(md.contains("| prefill | context 64 | context 256 |"), md);
        assertTrue(md.contains("skipped: KV cache"), md);
        assertFalse(md.contains("Comparison 1"), "scenarios were skipped: " + md);
    }

    @Test
    void theScalingPlotIsWrittenAndTheScenarioPlotIsNotWhenScenariosAreSkipped() throws Exception {
        byte[] png = Files.readAllBytes(out.resolve("scaling.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
        assertFalse(Files.exists(out.resolve("bench.png")));
    }

    @Test
    void theFloorOfAOneTokenChunkIsTheRooflinesDecodeFloor() {
        ModelConfig c = ModelPresets.config("30m");
        MachineCeilings ceilings = new MachineCeilings(2048, 100e9, 20e9, 10e9, 2e-6);
        for (int batch : new int[] {1, 32, 256}) {
            long bytes = Roofline.weightBytesPerStep(c) + (long) batch * 1024 * c.kvBytesPerToken();
            double expected = Math.max(bytes / 20e9, Roofline.flopsPerStep(c, batch, 1024) / 100e9);
            assertEquals(expected, ScalingBench.floorSeconds(c, ceilings, batch, 1, 1024), expected * 1e-9);
        }
    }

    @Test
    void aPrefillChunkIsTheBudgetOverTheBatchAtMostTheContextAndAtLeastOneToken() {
        ScalingSettings s = new ScalingSettings(List.of(1), List.of(256), 1, 1L << 30, 2048);
        assertEquals(256, s.prefillChunk(1, 256));
        assertEquals(64, s.prefillChunk(32, 256));
        assertEquals(1, s.prefillChunk(4096, 256));
    }

    @Test
    void nonPositiveGridValuesAreRefusedNamingTheFlag() {
        IllegalArgumentException steps = assertThrows(IllegalArgumentException.class,
                () -> new ScalingSettings(List.of(1), List.of(256), 0, 1L << 30, 2048));
        assertTrue(steps.getMessage().contains("--scaling-steps"), steps.getMessage());
        IllegalArgumentException contexts = assertThrows(IllegalArgumentException.class,
                () -> new ScalingSettings(List.of(1), List.of(256, -1), 1, 1L << 30, 2048));
        assertTrue(contexts.getMessage().contains("--scaling-contexts"), contexts.getMessage());
        IllegalArgumentException batches = assertThrows(IllegalArgumentException.class,
                () -> new ScalingSettings(List.of(-8), List.of(256), 1, 1L << 30, 2048));
        assertTrue(batches.getMessage().contains("--scaling-batches"), batches.getMessage());
    }
}
