package dev.rollout.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The baseline that Hugging Face {@code generate()} implements: a batch of up to {@code maxNumSeqs} sequences is
 * formed from the queue, every sequence reserves the blocks for its whole prompt plus {@code max_tokens} up front (so
 * its KV memory is what a dense {@code batch × (prompt + max_tokens)} cache takes), the batch is prefilled, then decoded
 * in lock step until every sequence has finished; only then are its blocks released and the next batch formed. As in
 * {@code generate()}, a finished sequence keeps its row in the decode steps (its last token is fed again, into its own
 * reserved blocks, and the output discarded), so the batch costs the same compute per step until it is done. Every
 * sample is its own sequence with its own prefill; there is no prefix cache and no preemption. Unlike
 * {@code generate()}, prompts are not padded to the longest in the prefill.
 */
final class StaticScheduler implements BatchScheduler {
    private final BlockManager blocks;
    private final int maxBatchTokens;
    private final int maxNumSeqs;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> batch = new ArrayList<>();
    /** Decode steps each finished sequence of the batch has been padded for. */
    private final Map<Sequence, Integer> padded = new IdentityHashMap<>();
    private int unfinishedInBatch;

    StaticScheduler(BlockManager blocks, int maxBatchTokens, int maxNumSeqs) {
        this.blocks = blocks;
        this.maxBatchTokens = maxBatchTokens;
        this.maxNumSeqs = maxNumSeqs;
    }

    @Override
    public void add(List<Sequence> samples) {
        for (Sequence s : samples) {
            s.status = Sequence.Status.WAITING;
            waiting.addLast(s);
        }
    }

    @Override
    public ScheduledBatch schedule() {
        if (batch.isEmpty()) {
            formBatch();
        }
        List<ScheduledBatch.Chunk> chunks = new ArrayList<>();
        boolean prefilling = false;
        for (Sequence s : batch) {
            prefilling |= !s.isFinished() && s.numComputedTokens < s.numPromptTokens();
        }
        int budget = maxBatchTokens;
        List<ScheduledBatch.PaddingRow> padding = new ArrayList<>();
        for (Sequence s : batch) {
            if (s.isFinished()) {
                if (!prefilling) {
                    int position = s.numComputedTokens + padded.merge(s, 1, Integer::sum) - 1;
                    if (position < s.numBlocks() * blocks.blockSize()) {
                        padding.add(new ScheduledBatch.PaddingRow(s, position));
                    }
                }
                continue;
            }
            if (budget == 0) {
                continue;
            }
            // Lock step: nobody decodes until the whole batch is prefilled (the budget may chunk that prefill).
            if (prefilling && s.numComputedTokens >= s.numPromptTokens()) {
                continue;
            }
            int numNew = prefilling ? Math.min(s.numUncomputedTokens(), budget) : 1;
            blocks.append(s, numNew);
            chunks.add(new ScheduledBatch.Chunk(s, numNew, s.numComputedTokens + numNew == s.numTokens()));
            budget -= numNew;
        }
        return chunks.isEmpty() ? ScheduledBatch.EMPTY : new ScheduledBatch(chunks, blocks.drainPendingCopies(), padding);
    }

    private void formBatch() {
        while (!waiting.isEmpty() && batch.size() < maxNumSeqs) {
            Sequence s = waiting.peekFirst();
            int reserve = s.numPromptTokens() + s.params.maxTokens();
            if (!blocks.canAllocate(BlockManager.CachedPrefix.NONE, reserve)) {
                break;
            }
            waiting.pollFirst();
            blocks.allocate(s, BlockManager.CachedPrefix.NONE, reserve);
            s.numCachedTokens = 0;
            s.status = Sequence.Status.RUNNING;
            batch.add(s);
        }
        unfinishedInBatch = batch.size();
    }

    @Override
    public List<Sequence> forkPending(Sequence sequence) {
        return List.of();
    }

    @Override
    public void finish(Sequence seq, FinishReason reason) {
        seq.status = Sequence.Status.FINISHED;
        seq.finishReason = reason;
        if (--unfinishedInBatch == 0) {
            releaseBatch();
        }
    }

    @Override
    public void abort(Sequence seq) {
        if (seq.isFinished()) {
            return;
        }
        if (waiting.remove(seq)) {
            seq.status = Sequence.Status.FINISHED;
            seq.finishReason = FinishReason.ABORTED;
            return;
        }
        finish(seq, FinishReason.ABORTED);
    }

    private void releaseBatch() {
        for (Sequence s : batch) {
            blocks.free(s);
        }
        batch.clear();
        padded.clear();
    }

    @Override
    public int numRunning() {
        return unfinishedInBatch;
    }

    @Override
    public int numWaiting() {
        return waiting.size();
    }

    @Override
    public long numPreemptions() {
        return 0;
    }

    @Override
    public long numCacheHitTokens() {
        return 0;
    }
}
