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

    @Test
    void aFinishedSequenceKeepsItsRowInTheBatchUntilEverySequenceIsDone() {
        BlockManager bm = new BlockManager(32, 4);
        StaticScheduler s = new StaticScheduler(bm, 100, 8);
        Sequence early = new Sequence(0, 0, 0, new int[] {5, 6, 7}, SamplingParams.greedy(10), 0, null);
        Sequence late = new Sequence(1, 1, 0, new int[] {8, 9}, SamplingParams.greedy(10), 0, null);
        s.add(List.of(early));
        s.add(List.of(late));
        ScheduledBatch prefill = s.schedule();
        assertEquals(2, prefill.chunks().size());
        assertEquals(4 + 3, bm.numUsedBlocks(), "prompt + max_tokens reserved: 13 and 12 tokens, 4 and 3 blocks");
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
        assertEquals(7, bm.numUsedBlocks(), "the finished sequence's blocks stay reserved");
        s.finish(late, FinishReason.LENGTH);
        assertEquals(32, bm.numFreeBlocks());
        assertEquals(0, s.numRunning());
    }
}
