package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class StaticSchedulerTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(12, 3, 16, 71);

    private static List<CompletionResult> run(EngineConfig.SchedulerKind kind, SamplingParams params) {
        try (Engine engine = TestEngines.engine(TestEngines.config(256).withScheduler(kind).withMaxNumSeqs(8))) {
            List<CompletionResult> results = TestEngines.generate(engine, PROMPTS, params);
            assertEquals(256, engine.cacheInfo().freeBlocks());
            return results;
        }
    }

    private static void assertSame(SamplingParams params) {
        List<CompletionResult> continuous = run(EngineConfig.SchedulerKind.CONTINUOUS, params);
        List<CompletionResult> batched = run(EngineConfig.SchedulerKind.STATIC, params);
        for (int i = 0; i < continuous.size(); i++) {
            assertArrayEquals(continuous.get(i).tokenIds(), batched.get(i).tokenIds(), "completion " + i);
            assertEquals(continuous.get(i).finishReason(), batched.get(i).finishReason());
        }
    }

    @Test
    void staticAndContinuousSchedulersGiveIdenticalGreedyCompletions() {
        assertSame(SamplingParams.greedy(20));
    }

    @Test
    void staticAndContinuousSchedulersGiveIdenticalSeededSamples() {
        assertSame(SamplingParams.defaults(20).withN(2).withSeed(77L));
    }

    @Test
    void staticBatchesReserveEachSequencesWholeLengthUpFront() {
        try (Engine engine = TestEngines.engine(TestEngines.config(256)
                .withScheduler(EngineConfig.SchedulerKind.STATIC))) {
            int[] prompt = PROMPTS.get(0);
            TestEngines.generate(engine, List.of(prompt, prompt), SamplingParams.greedy(20).withStopTokenIds(0, 1, 2));
            int perSequence = (prompt.length + 20 + 3) / 4;
            assertEquals(2 * perSequence, engine.stats().peakUsedBlocks());
        }
    }

    @Test
    void aFinishedSequenceKeepsItsRowInTheBatchUntilEverySequenceIsDone() {
        BlockManager bm = new BlockManager(32, 4);
        StaticScheduler s = new StaticScheduler(bm, TestStops.NONE, 100, 8, 256);
        Sequence early = new Sequence(0, 0, 0, new int[] {5, 6, 7}, SamplingParams.greedy(10), 0, null);
        Sequence late = new Sequence(1, 1, 0, new int[] {8, 9}, SamplingParams.greedy(10), 0, null);
        s.add(List.of(early));
        s.add(List.of(late));
        ScheduledBatch prefill = s.schedule();
        assertEquals(2, prefill.chunks().size());
        assertEquals(4 + 4, bm.numUsedBlocks(), "longest prompt + max_tokens reserved for each: 13 tokens, 4 blocks");
        for (ScheduledBatch.Chunk c : prefill.chunks()) {
            bm.markComputed(c.sequence(), c.numTokens());
            c.sequence().appendToken(1, 0f);
        }
        s.finish(early, FinishReason.STOP);

        for (int step = 0; step < 3; step++) {
            ScheduledBatch decode = s.schedule();
            assertEquals(1, decode.chunks().size());
            assertEquals(List.of(new ScheduledBatch.PaddingRow(early, 3 + step)), decode.padding());
            bm.markComputed(late, 1);
            late.appendToken(1, 0f);
        }
        assertEquals(8, bm.numUsedBlocks(), "the finished sequence's blocks stay reserved");
        s.finish(late, FinishReason.LENGTH);
        assertEquals(32, bm.numFreeBlocks());
        assertEquals(0, s.numRunning());
    }

    /**
     * Submits {@code requests} from the completion callback of a one-token gate request, on the engine thread: the
     * engine runs the commands they post before its next step, so the static scheduler sees them all as one batch.
     * Results in request order. The gate takes one step, one prompt token, one generated token and one block.
     */
    private static List<List<CompletionResult>> generateTogether(Engine engine, List<GenerationRequest> requests) {
        CompletableFuture<List<RequestHandle>> submitted = new CompletableFuture<>();
        TestEngines.await(engine.submit(new GenerationRequest("gate", List.of(new int[] {3}), SamplingParams.greedy(1),
                c -> submitted.complete(requests.stream().map(engine::submit).toList()))));
        List<List<CompletionResult>> results = new ArrayList<>();
        for (RequestHandle h : submitted.join()) {
            results.add(TestEngines.await(h));
        }
        return results;
    }

    /**
     * Four seeded requests of one prompt each, max_tokens 20, 10, 4 and 12: the first two end by EOS after 8 and 6
     * tokens, the last two at their max_tokens (so the longest completion, 12, ends before the largest max_tokens).
     */
    private static List<GenerationRequest> mixedBatch() {
        List<int[]> prompts = TestEngines.prompts(4, 3, 11, 29);
        return List.of(
                new GenerationRequest("eos-at-8", List.of(prompts.get(1)), SamplingParams.defaults(20).withSeed(3L)),
                new GenerationRequest("eos-at-6", List.of(prompts.get(2)), SamplingParams.defaults(10).withSeed(5L)),
                new GenerationRequest("length-4", List.of(prompts.get(0)), SamplingParams.defaults(4).withSeed(3L)),
                new GenerationRequest("length-12", List.of(prompts.get(3)), SamplingParams.defaults(12).withSeed(8L)));
    }

    @Test
    void aBatchWithMixedMaxTokensAndEarlyEosRunsTheStepsAndHoldsTheKvOfGenerate() {
        List<GenerationRequest> requests = mixedBatch();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<List<CompletionResult>> results;
        EngineStats stats;
        double generatedMetric;
        try (Engine engine = new Engine(TestEngines.model(),
                TestEngines.config(256).withScheduler(EngineConfig.SchedulerKind.STATIC), registry)) {
            results = generateTogether(engine, requests);
            stats = engine.stats();
            generatedMetric = registry.get("rollout.generated.tokens").counter().count();
            assertEquals(256, engine.cacheInfo().freeBlocks());
        }
        int[] lengths = results.stream().mapToInt(r -> r.get(0).tokenIds().length).toArray();
        assertArrayEquals(new int[] {8, 6, 4, 12}, lengths, "the batch's shape");
        assertEquals(List.of(FinishReason.STOP, FinishReason.STOP, FinishReason.LENGTH, FinishReason.LENGTH),
                results.stream().map(r -> r.get(0).finishReason()).toList());
        int[] promptLengths = requests.stream().mapToInt(r -> r.prompts().get(0).length).toArray();
        assertArrayEquals(new int[] {6, 7, 7, 10}, promptLengths);

        // generate(): one prefill, then 12 - 1 decode steps of 4 rows each; the gate took one step before.
        assertEquals(1 + 1 + (12 - 1), stats.steps());
        // generate()'s dense cache: 4 × (longest prompt 10 + largest max_tokens 20) tokens = 4 × 8 blocks of 4.
        assertEquals(4 * 8, stats.peakUsedBlocks());
        // Only sampled tokens count: 8 + 6 + 4 + 12 and the gate's one; padding rows count nowhere.
        assertEquals(1 + 8 + 6 + 4 + 12, stats.generatedTokens());
        assertEquals(1 + 8 + 6 + 4 + 12, generatedMetric);
        assertEquals(1 + 6 + 7 + 7 + 10, stats.computedPromptTokens());
    }

    @Test
    void paddingRowsLeaveEveryCompletionAsContinuousBatchingProducesIt() {
        List<GenerationRequest> requests = mixedBatch();
        List<List<CompletionResult>> batched;
        try (Engine engine = TestEngines.engine(TestEngines.config(256).withScheduler(EngineConfig.SchedulerKind.STATIC))) {
            batched = generateTogether(engine, requests);
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            List<List<CompletionResult>> continuous = generateTogether(engine, requests);
            for (int i = 0; i < requests.size(); i++) {
                CompletionResult c = continuous.get(i).get(0);
                CompletionResult b = batched.get(i).get(0);
                assertArrayEquals(c.tokenIds(), b.tokenIds(), requests.get(i).requestId());
                assertArrayEquals(c.logprobs(), b.logprobs(), 1e-5f, requests.get(i).requestId());
                assertEquals(c.finishReason(), b.finishReason());
            }
        }
    }

    @Test
    void aBatchWhosePaddingWouldPassTheModelsContextCompletesUnchanged() {
        // Each request fits the context of 256 alone; padded rows of the first would run to position 298.
        int[] longPrompt = TestEngines.prompts(1, 200, 200, 5).get(0);
        int[] shortPrompt = TestEngines.prompts(1, 3, 3, 6).get(0);
        List<GenerationRequest> requests = List.of(
                new GenerationRequest("long", List.of(longPrompt), SamplingParams.greedy(2)),
                new GenerationRequest("short", List.of(shortPrompt), SamplingParams.greedy(100).withIgnoreEos(true)));
        List<List<CompletionResult>> batched;
        try (Engine engine = TestEngines.engine(TestEngines.config(256).withScheduler(EngineConfig.SchedulerKind.STATIC))) {
            batched = generateTogether(engine, requests);
            assertEquals(1 + 1 + 99, engine.stats().steps());
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            List<List<CompletionResult>> continuous = generateTogether(engine, requests);
            for (int i = 0; i < requests.size(); i++) {
                assertArrayEquals(continuous.get(i).get(0).tokenIds(), batched.get(i).get(0).tokenIds());
            }
        }
        assertTrue(batched.get(0).get(0).tokenIds().length <= 2);
        assertEquals(100, batched.get(1).get(0).tokenIds().length);
    }
}
