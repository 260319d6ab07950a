package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The continuous scheduling policy alone: steps are simulated (tokens marked computed, token 7 "sampled"). */
class SchedulerTest {
    private long nextId;

    private Sequence seq(int promptLen, int sampleIndex) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) {
            prompt[i] = 10 + (int) nextId * 100 + i;
        }
        return new Sequence(nextId++, 0, sampleIndex, prompt, SamplingParams.greedy(100), 0, null);
    }

    private Sequence seq(int promptLen) {
        return seq(promptLen, 0);
    }

    /** Schedules a step and plays the engine's part; returns (sequence, tokens) of each chunk. */
    private static List<ScheduledBatch.Chunk> step(ContinuousScheduler s, BlockManager bm) {
        ScheduledBatch batch = s.schedule();
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            bm.markComputed(c.sequence(), c.numTokens());
            if (c.lastRowSampled()) {
                c.sequence().appendToken(7, -1f);
                for (Sequence child : s.forkPending(c.sequence())) {
                    child.appendToken(7, -1f);
                }
            }
        }
        return batch.chunks();
    }

    private static void assertChunk(ScheduledBatch.Chunk c, Sequence expected, int tokens, boolean samples) {
        assertSame(expected, c.sequence());
        assertEquals(tokens, c.numTokens());
        assertEquals(samples, c.lastRowSampled());
    }

    @Test
    void runningSequencesComeFirstThenWaitingOnesInArrivalOrderWithinTheTokenBudget() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 10, 16);
        Sequence a = seq(8);
        Sequence b = seq(8);
        Sequence c = seq(5);
        s.add(List.of(a));
        s.add(List.of(b));
        s.add(List.of(c));

        List<ScheduledBatch.Chunk> first = step(s, bm);
        assertEquals(2, first.size());
        assertChunk(first.get(0), a, 8, true);
        assertChunk(first.get(1), b, 2, false);

        List<ScheduledBatch.Chunk> second = step(s, bm);
        assertEquals(3, second.size());
        assertChunk(second.get(0), a, 1, true);
        assertChunk(second.get(1), b, 6, true);
        assertChunk(second.get(2), c, 3, false);
        assertEquals(3, s.numRunning());
        assertEquals(0, s.numWaiting());
    }

    @Test
    void aLongPromptIsPrefilledInChunksOfTheBudgetAndSamplesOnlyAfterTheLast() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 10, 16);
        Sequence a = seq(25);
        s.add(List.of(a));
        assertChunk(step(s, bm).get(0), a, 10, false);
        assertChunk(step(s, bm).get(0), a, 10, false);
        assertChunk(step(s, bm).get(0), a, 5, true);
        assertChunk(step(s, bm).get(0), a, 1, true);
        assertEquals(27, a.numTokens());
    }

    @Test
    void noMoreThanMaxNumSeqsRun() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 100, 2);
        for (int i = 0; i < 3; i++) {
            s.add(List.of(seq(4)));
        }
        assertEquals(2, step(s, bm).size());
        assertEquals(2, s.numRunning());
        assertEquals(1, s.numWaiting());
    }

    @Test
    void theSamplesOfAPromptWaitForOnePrefillThenAreForkedFromIt() {
        BlockManager bm = new BlockManager(64, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 100, 16);
        Sequence leader = seq(6, 0);
        Sequence second = seq(6, 1);
        Sequence third = seq(6, 2);
        s.add(List.of(leader, second, third));
        assertEquals(3, s.numWaiting());
        List<ScheduledBatch.Chunk> prefill = step(s, bm);
        assertEquals(1, prefill.size(), "one prefill for the three samples");
        assertEquals(3, s.numRunning());
        assertEquals(leader.block(0), third.block(0));
        assertEquals(2, bm.numUsedBlocks());

        ScheduledBatch decode = s.schedule();
        assertEquals(3, decode.chunks().size());
        assertEquals(2, decode.copies().size(), "two of the three writers copy the shared partial block");
        assertEquals(4, bm.numUsedBlocks());
    }

    @Test
    void whenBlocksRunOutTheNewestRunningSequenceIsPreemptedAndNobodyIsAdmitted() {
        BlockManager bm = new BlockManager(4, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 100, 16);
        Sequence older = seq(4);
        Sequence newer = seq(4);
        s.add(List.of(older));
        s.add(List.of(newer));
        step(s, bm); // both prefilled, 1 block each, one token sampled each
        step(s, bm); // both decode into a second block: 4 blocks used
        assertEquals(0, bm.numFreeBlocks());
        Sequence late = seq(2);
        s.add(List.of(late));
        for (int i = 0; i < 3; i++) {
            step(s, bm); // decode positions 5..7, within the second blocks
        }
        List<ScheduledBatch.Chunk> preempting = step(s, bm); // older needs a third block for position 8
        assertEquals(1, s.numPreemptions());
        assertEquals(1, preempting.size());
        assertChunk(preempting.get(0), older, 1, true);
        assertEquals(Sequence.Status.WAITING, newer.status);
        assertEquals(0, newer.numBlocks());
        assertEquals(9, newer.numTokens(), "its generated tokens are kept");
        assertEquals(2, s.numWaiting(), "the preempted sequence and the late one; nobody admitted");

        s.abort(older);
        List<ScheduledBatch.Chunk> next = step(s, bm);
        assertEquals(2, next.size());
        // Back first, ahead of the late one; its first block is still cached, the rest (prompt + generated) recomputed.
        assertChunk(next.get(0), newer, 5, true);
        assertChunk(next.get(1), late, 2, true);
    }

    @Test
    void abortingFreesTheBlocksWhereverTheSequenceIs() {
        BlockManager bm = new BlockManager(16, 4);
        ContinuousScheduler s = new ContinuousScheduler(bm, TestStops.NONE, 100, 16);
        Sequence running = seq(6, 0);
        Sequence forkWaiting = seq(6, 1);
        Sequence queued = seq(5);
        s.add(List.of(running, forkWaiting));
        step(s, bm);
        s.add(List.of(queued));
        for (Sequence q : new ArrayList<>(List.of(running, forkWaiting, queued))) {
            s.abort(q);
            assertTrue(q.isFinished());
            assertEquals(FinishReason.ABORTED, q.finishReason);
        }
        assertEquals(16, bm.numFreeBlocks());
        assertEquals(0, s.numRunning() + s.numWaiting());
    }
}
