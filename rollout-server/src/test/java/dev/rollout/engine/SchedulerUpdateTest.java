package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The after-step bookkeeping of both schedulers: {@code update(batch, sampled) → finished}. */
class SchedulerUpdateTest {
    private static final int EOS = 3;
    private static final StopConditions STOPS = new StopConditions(List.of(EOS), 64);
    private long nextId;

    private Sequence seq(int sampleIndex, int maxTokens) {
        return new Sequence(nextId++, 0, sampleIndex, new int[] {10, 11, 12, 13, 14, 15}, SamplingParams.greedy(maxTokens), 0,
                null);
    }

    private static Sampler.Sample[] tokens(int... ids) {
        Sampler.Sample[] out = new Sampler.Sample[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = new Sampler.Sample(ids[i], -0.5f * (i + 1));
        }
        return out;
    }

    @Test
    void aPrefillsDrawsAreItsSequenceThenTheSamplesWaitingOnItOnTheSameRow() {
        ContinuousScheduler s = new ContinuousScheduler(new BlockManager(64, 4), STOPS, 100, 16);
        Sequence leader = seq(0, 8);
        Sequence second = seq(1, 8);
        s.add(List.of(leader, second));
        List<BatchSampler.Draw> draws = s.schedule().draws(100);
        assertEquals(2, draws.size());
        assertSame(leader, draws.get(0).sequence());
        assertSame(second, draws.get(1).sequence());
        assertEquals(draws.get(0).offset(), draws.get(1).offset());
    }

    @Test
    void updateMarksTheTokensComputedForksThePendingSamplesAndAppendsEachItsToken() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, STOPS, 100, 16);
        Sequence leader = seq(0, 8);
        Sequence second = seq(1, 8);
        s.add(List.of(leader, second));
        List<Sequence> finished = s.update(s.schedule(), tokens(20, 21));
        assertTrue(finished.isEmpty());
        assertEquals(6, leader.numComputedTokens);
        assertEquals(6, second.numComputedTokens, "the fork takes over the computed prefill");
        assertEquals(leader.block(0), second.block(0));
        assertArrayEquals(new int[] {20}, leader.generatedTokenIds());
        assertArrayEquals(new int[] {21}, second.generatedTokenIds());
        assertArrayEquals(new float[] {-1.0f}, second.logprobs());
        assertEquals(2, s.numRunning());
    }

    @Test
    void updateFinishesWhatStoppedAndReleasesItsBlocks() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, STOPS, 100, 16);
        Sequence stops = seq(0, 8);
        Sequence length = seq(0, 1);
        Sequence goesOn = seq(0, 8);
        s.add(List.of(stops));
        s.add(List.of(length));
        s.add(List.of(goesOn));
        List<Sequence> finished = s.update(s.schedule(), tokens(EOS, 20, 21));
        assertEquals(List.of(stops, length), finished);
        assertEquals(FinishReason.STOP, stops.finishReason);
        assertEquals(FinishReason.LENGTH, length.finishReason);
        assertEquals(0, stops.numBlocks());
        assertEquals(1, s.numRunning());
        assertEquals(2, bm.numUsedBlocks(), "only the running sequence's blocks stay");
    }

    @Test
    void theStaticSchedulersUpdateReleasesTheBatchWhenItsLastSequenceEnds() {
        BlockManager bm = new BlockManager(64, 4);
        StaticScheduler s = new StaticScheduler(bm, STOPS, 100, 8, 64);
        Sequence first = seq(0, 8);
        Sequence second = seq(0, 8);
        s.add(List.of(first));
        s.add(List.of(second));
        assertEquals(List.of(first), s.update(s.schedule(), tokens(EOS, 20)));
        assertTrue(bm.numUsedBlocks() > 0, "a static batch keeps its blocks until it is done");
        assertEquals(List.of(second), s.update(s.schedule(), tokens(EOS)));
        assertEquals(0, bm.numUsedBlocks());
        assertEquals(0, s.numRunning());
    }
}
