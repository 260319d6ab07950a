package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
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
}
