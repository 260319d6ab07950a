package dev.rollout.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.WeightsDtype;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench batched}: llama-batched-bench's workload through a real gRPC server, on the tiny preset. */
class BatchedBenchTest {

    private static BatchedBench.Settings settings(List<Integer> sequences, int promptTokens, int maxTokens, int reps) {
        return settings(sequences, promptTokens, maxTokens, reps, WeightsDtype.FP32);
    }

    private static BatchedBench.Settings settings(List<Integer> sequences, int promptTokens, int maxTokens, int reps,
            WeightsDtype dtype) {
        return new BatchedBench.Settings("tiny", 0, sequences, promptTokens, maxTokens, reps, false, 16, Device.cpu(),
                AttentionBackend.AUTO, dtype);
    }

    @Test
    void bf16WeightsServeEveryForcedTokenToo() throws Exception {
        List<String> log = new java.util.ArrayList<>();
        List<BatchedBench.Point> points = BatchedBench.run(settings(List.of(2, 20), 8, 5, 1, WeightsDtype.BF16), log::add);
        assertTrue(log.get(0).startsWith("weights served in bf16"), log.get(0));
        assertEquals(List.of(10L, 100L), points.stream().map(BatchedBench.Point::outputTokens).toList());
    }

    @Test
    void everySequenceOfEveryCallGeneratesExactlyTheForcedTokens() throws Exception {
        List<BatchedBench.Point> points = BatchedBench.run(settings(List.of(1, 3), 8, 5, 2), line -> {});
        assertEquals(List.of(1, 3), points.stream().map(BatchedBench.Point::sequences).toList());
        for (BatchedBench.Point p : points) {
            assertEquals(p.sequences() * 5L, p.outputTokens());
            assertEquals(2, p.wallSeconds().size());
            assertTrue(p.wallSeconds().stream().allMatch(w -> w > 0), p.wallSeconds().toString());
            assertEquals(p.outputTokens() / p.medianWallSeconds(), p.tokensPerSecond(), 1e-9);
        }
    }

    @Test
    void theRequestHasNDistinctPromptsOfThePromptLengthGreedyWithEosIgnored() {
        GenerateBatchRequest r = BatchedBench.request(6, 12, 7, 512, 3);
        assertEquals(6, r.getPromptsCount());
        Set<List<Integer>> distinct = new HashSet<>();
        for (Prompt p : r.getPromptsList()) {
            assertEquals(12, p.getTokenIds().getIdsCount());
            assertTrue(p.getTokenIds().getIdsList().stream().allMatch(id -> id > 0 && id < 512));
            distinct.add(p.getTokenIds().getIdsList());
        }
        assertEquals(6, distinct.size());
        assertEquals(1, r.getSampling().getN());
        assertEquals(7, r.getSampling().getMaxTokens());
        assertEquals(0f, r.getSampling().getTemperature());
        assertTrue(r.getSampling().getIgnoreEos());
    }

    @Test
    void aCompletionShorterThanTheForcedLengthIsAnError() {
        GenerateBatchResponse response = GenerateBatchResponse.newBuilder()
                .addCompletions(Completion.newBuilder().addTokenIds(1).addTokenIds(2)).build();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BatchedBench.checkedOutputTokens(response, 1, 3));
        assertTrue(e.getMessage().contains("not the 3"), e.getMessage());
    }

    @Test
    void zeroSequencesAreRefusedNamingTheFlag() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> settings(List.of(1, 0), 8, 5, 1));
        assertTrue(e.getMessage().contains("--sequences"), e.getMessage());
    }

    @Test
    void moreSequencesThanTheServerTakesInOneRequestAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> settings(List.of(16385), 8, 5, 1));
        assertTrue(e.getMessage().contains("16384"), e.getMessage());
    }

    @Test
    void aNonPositivePromptLengthIsRefusedNamingTheFlag() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> settings(List.of(1), 0, 5, 1));
        assertTrue(e.getMessage().contains("--prompt-tokens"), e.getMessage());
    }

    @Test
    void aWorkloadBeyondTheModelsContextIsRefusedWithTheLimit() {
        // tiny has 1024 positions
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BatchedBench.run(settings(List.of(1), 1000, 100, 1), line -> {}));
        assertTrue(e.getMessage().contains("1024"), e.getMessage());
    }

    @Test
    void theCommandWritesOneJsonPointPerSequenceCount(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("batched.json");
        int exit = new CommandLine(new BatchedBenchCommand()).execute("--model", "tiny", "--sequences", "2,1",
                "--prompt-tokens", "4", "--max-tokens", "3", "--no-warmup", "--out", json.toString());
        assertEquals(0, exit);
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(4, root.get("prompt_tokens").asInt());
        assertEquals(2, root.get("points").size());
        assertEquals(2, root.get("points").get(0).get("sequences").asInt());
        assertEquals(6, root.get("points").get(0).get("output_tokens").asInt());
        assertEquals(3, root.get("points").get(1).get("output_tokens").asInt());
        assertTrue(root.get("points").get(1).get("output_tokens_per_second").asDouble() > 0);
    }
}
