package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The static scheduler's batches have the shape of Hugging Face {@code generate()} on a padded batch of B sequences:
 * a dense KV cache of B × (longest prompt + largest max_tokens), one prefill, then B rows in every decode step until
 * the longest completion is done. The scheduler is driven here as the engine drives it, each sequence ending after a
 * chosen number of tokens.
 */
class StaticBatchAsGenerateTest {
    private static final int BLOCK_SIZE = 4;
    private static final int TOKEN = 7;

    /** What one batch did: the most blocks in use, the rows of every step, and each sequence's padding positions. */
    private record Run(int peakBlocks, List<Integer> rowsPerStep, List<List<Integer>> paddingPositions) {

        int paddingRows() {
            return paddingPositions.stream().mapToInt(List::size).sum();
        }
    }

    private static Sequence sequence(int id, int promptLength, int maxTokens) {
        int[] prompt = new int[promptLength];
        Arrays.fill(prompt, 3 + id);
        return new Sequence(id, 0, 0, prompt, SamplingParams.greedy(maxTokens), 0, null);
    }

    /**
     * Queues {@code sequences} (ids 0, 1, ...) and steps until the scheduler has no work; sequence i ends after
     * {@code lengths[i]} tokens: LENGTH if that is its max_tokens, else STOP (a stop token sampled early).
     */
    private static Run run(StaticScheduler scheduler, BlockManager bm, List<Sequence> sequences, int... lengths) {
        for (Sequence s : sequences) {
            scheduler.add(List.of(s));
        }
        int peak = 0;
        List<Integer> rows = new ArrayList<>();
        List<List<Integer>> padding = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            padding.add(new ArrayList<>());
        }
        while (scheduler.hasWork()) {
            ScheduledBatch batch = scheduler.schedule();
            peak = Math.max(peak, bm.numUsedBlocks());
            rows.add(batch.numTokens());
            for (ScheduledBatch.PaddingRow p : batch.padding()) {
                Sequence s = p.sequence();
                assertTrue(p.position() < s.numBlocks() * BLOCK_SIZE, "padding of " + s + " within its reservation");
                padding.get((int) s.id).add(p.position());
            }
            for (ScheduledBatch.Chunk c : batch.chunks()) {
                Sequence s = c.sequence();
                bm.markComputed(s, c.numTokens());
                if (c.lastRowSampled()) {
                    s.appendToken(TOKEN, 0f);
                    if (s.numGeneratedTokens() == lengths[(int) s.id]) {
                        scheduler.finish(s, lengths[(int) s.id] == s.params.maxTokens() ? FinishReason.LENGTH : FinishReason.STOP);
                    }
                }
            }
        }
        return new Run(peak, rows, padding);
    }

    @Test
    void aBatchDecodesEveryRowUntilItsLongestCompletionEndsBeforeTheLargestMaxTokens() {
        BlockManager bm = new BlockManager(64, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 100, 8, 256);
        // Prompts 5, 3, 9; max_tokens 4, 12, 6; completions of 4 (its max), 7 and 2 (stopped early).
        Run run = run(scheduler, bm, List.of(sequence(0, 5, 4), sequence(1, 3, 12), sequence(2, 9, 6)), 4, 7, 2);

        // generate(): a dense cache of 3 × (9 + 12) tokens = 3 × 6 blocks of 4.
        assertEquals(3 * 6, run.peakBlocks());
        // One prefill of 5 + 3 + 9 prompt tokens, then 3 rows in each of the 7 - 1 decode steps the longest needs.
        List<Integer> expected = new ArrayList<>(List.of(5 + 3 + 9));
        expected.addAll(Collections.nCopies(6, 3));
        assertEquals(expected, run.rowsPerStep());
        // Real decode rows: 4 - 1, 7 - 1 and 2 - 1; the rest of the 18 are padding.
        assertEquals(18 - (3 + 6 + 1), run.paddingRows());
        assertEquals(64, bm.numFreeBlocks());
    }

    @Test
    void aBatchDecodesEveryRowUntilTheLargestMaxTokensIsReached() {
        BlockManager bm = new BlockManager(64, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 100, 8, 256);
        Run run = run(scheduler, bm, List.of(sequence(0, 5, 4), sequence(1, 3, 12), sequence(2, 9, 6)), 4, 12, 2);

        assertEquals(3 * 6, run.peakBlocks());
        List<Integer> expected = new ArrayList<>(List.of(5 + 3 + 9));
        expected.addAll(Collections.nCopies(12 - 1, 3));
        assertEquals(expected, run.rowsPerStep());
        assertEquals(33 - (3 + 11 + 1), run.paddingRows());
    }

    @Test
    void aFinishedSequencePadsAtItsNextPositionsFromWhereItsLastTokenWouldGo() {
        BlockManager bm = new BlockManager(64, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 100, 8, 256);
        Run run = run(scheduler, bm, List.of(sequence(0, 5, 4), sequence(1, 3, 12), sequence(2, 9, 6)), 4, 7, 2);

        // Sequence 0 (prompt 5) fed its 3rd token at position 7 in decode step 3; it pads in steps 4 to 6.
        assertEquals(List.of(8, 9, 10), run.paddingPositions().get(0));
        assertEquals(List.of(), run.paddingPositions().get(1));
        // Sequence 2 (prompt 9) stopped at its 2nd token, after decode step 1; it pads in steps 2 to 6.
        assertEquals(List.of(10, 11, 12, 13, 14), run.paddingPositions().get(2));
    }

    @Test
    void paddingStopsAdvancingAtTheModelsLastPosition() {
        BlockManager bm = new BlockManager(64, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 100, 8, 12);
        // Each fits the context of 12 alone (8 + 2, 2 + 10); padded to the batch's longest, the first would not.
        Run run = run(scheduler, bm, List.of(sequence(0, 8, 2), sequence(1, 2, 10)), 2, 10);

        assertEquals(List.of(9, 10, 11, 11, 11, 11, 11, 11), run.paddingPositions().get(0));
        assertEquals(2 * 9, run.rowsPerStep().subList(1, run.rowsPerStep().size()).stream().mapToInt(i -> i).sum());
    }

    @Test
    void aSequenceWaitsWhenTheBatchAtItsLongestPromptAndLargestMaxTokensWouldNotFit() {
        // Alone at their own lengths the three take 2 + 5 + 2 of the 12 blocks; at 4 + 16 tokens each, only two fit.
        BlockManager bm = new BlockManager(12, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 100, 8, 256);
        for (Sequence s : List.of(sequence(0, 4, 4), sequence(1, 4, 16), sequence(2, 4, 4))) {
            scheduler.add(List.of(s));
        }
        scheduler.schedule();
        assertEquals(2, scheduler.numRunning());
        assertEquals(1, scheduler.numWaiting());
        assertEquals(2 * 5, bm.numUsedBlocks());
    }

    @Test
    void aBatchHasNoMoreSequencesThanAStepHasTokens() {
        BlockManager bm = new BlockManager(64, BLOCK_SIZE);
        StaticScheduler scheduler = new StaticScheduler(bm, TestStops.NONE, 2, 8, 256);
        for (int i = 0; i < 3; i++) {
            scheduler.add(List.of(sequence(i, 3, 4)));
        }
        scheduler.schedule();
        assertEquals(2, scheduler.numRunning());
        assertEquals(1, scheduler.numWaiting());
    }
}
