package dev.rollout.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The baseline that Hugging Face {@code generate()} implements on a padded batch: a batch of up to {@code maxNumSeqs}
 * sequences is formed from the queue, every sequence reserves the blocks for the batch's longest prompt plus its
 * largest {@code max_tokens} up front (so the batch holds what {@code generate()}'s dense {@code batch × (longest prompt
 * + max_new_tokens)} cache takes), the batch is prefilled, then decoded in lock step until every sequence has finished;
 * only then are its blocks released and the next batch formed. As in {@code generate()}, which computes every row every
 * step, a finished sequence keeps its row in each decode step until the batch is done (its last token is fed again at
 * its next position, into its own reserved blocks, and the output discarded), so every decode step has one row per
 * sequence of the batch. Every sample is its own sequence with its own prefill; there is no prefix cache and no
 * preemption. Unlike {@code generate()}, prompts are not padded to the longest in the prefill. New weights under
 * {@code --inflight-weight-update recompute} make the batch prefill again, in place, before it decodes on.
 */
final class StaticScheduler implements Scheduler {
    private final BlockManager blocks;
    private final StopConditions stops;
    private final int maxBatchTokens;
    private final int maxNumSeqs;
    /** The model's context: padding rows stop advancing at its last position (no rotary angle exists beyond it). */
    private final int maxPositions;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> batch = new ArrayList<>();
    /** Decode steps each finished sequence of the batch has been padded for. */
    private final Map<Sequence, Integer> padded = new IdentityHashMap<>();
    private int unfinishedInBatch;

    StaticScheduler(BlockManager blocks, StopConditions stops, int maxBatchTokens, int maxNumSeqs, int maxPositions) {
        this.blocks = blocks;
        this.stops = stops;
        this.maxBatchTokens = maxBatchTokens;
        this.maxNumSeqs = maxNumSeqs;
        this.maxPositions = maxPositions;
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
            prefilling |= !s.isFinished() && needsPrefill(s);
        }
        int budget = maxBatchTokens;
        List<ScheduledBatch.PaddingRow> padding = new ArrayList<>();
        for (Sequence s : batch) {
            if (s.isFinished()) {
                // Prefill steps are generate()'s single prefill forward: only decode steps carry padding rows. The
                // batch runs at most (largest max_tokens - 1) decode steps, so the position stays within the reservation.
                if (!prefilling) {
                    int position = s.numComputedTokens + padded.merge(s, 1, Integer::sum) - 1;
                    padding.add(new ScheduledBatch.PaddingRow(s, Math.min(position, maxPositions - 1)));
                }
                continue;
            }
            if (budget == 0) {
                continue;
            }
            // Lock step: nobody decodes until the whole batch is prefilled (the budget may chunk that prefill).
            if (prefilling && !needsPrefill(s)) {
                continue;
            }
            int numNew = prefilling ? Math.min(s.numUncomputedTokens(), budget) : 1;
            blocks.append(s, numNew);
            chunks.add(new ScheduledBatch.Chunk(s, numNew, s.numComputedTokens + numNew == s.numTokens()));
            budget -= numNew;
        }
        return chunks.isEmpty() ? ScheduledBatch.EMPTY : new ScheduledBatch(chunks, blocks.drainPendingCopies(), padding);
    }

    /**
     * Takes sequences from the head of the queue while the whole batch, each at the longest prompt plus the largest
     * {@code max_tokens} among them, fits in the free blocks; then reserves that for each of them.
     */
    private void formBatch() {
        // Every decode step has one row per sequence of the batch (its token or a padding row): a step must hold them all.
        int maxBatch = Math.min(maxNumSeqs, maxBatchTokens);
        int longestPrompt = 0;
        int largestMaxTokens = 0;
        for (Sequence s : waiting) {
            if (batch.size() == maxBatch) {
                break;
            }
            int prompt = Math.max(longestPrompt, s.numPromptTokens());
            int maxTokens = Math.max(largestMaxTokens, s.params.maxTokens());
            if ((batch.size() + 1) * blocks.blocksFor(prompt + maxTokens) > blocks.numFreeBlocks()) {
                break;
            }
            batch.add(s);
            longestPrompt = prompt;
            largestMaxTokens = maxTokens;
        }
        for (Sequence s : batch) {
            waiting.pollFirst();
            blocks.allocate(s, BlockManager.CachedPrefix.NONE, longestPrompt + largestMaxTokens);
            s.numCachedTokens = 0;
            s.status = Sequence.Status.RUNNING;
        }
        unfinishedInBatch = batch.size();
    }

    @Override
    public List<Sequence> update(ScheduledBatch batch, Sampler.Sample[] sampled) {
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            blocks.markComputed(c.sequence(), c.numTokens());
        }
        List<Sequence> finished = new ArrayList<>();
        int i = 0;
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            if (!c.lastRowSampled()) {
                continue;
            }
            Sequence seq = c.sequence();
            Sampler.Sample s = sampled[i++];
            seq.appendToken(s.tokenId(), s.logprob());
            FinishReason reason = stops.check(seq, s.tokenId());
            if (reason != null) {
                finish(seq, reason);
                finished.add(seq);
            }
        }
        return finished;
    }

    /** Ends a sequence of the batch; the batch's blocks are released when its last sequence ends. */
    void finish(Sequence seq, FinishReason reason) {
        seq.status = Sequence.Status.FINISHED;
        seq.finishReason = reason;
        if (--unfinishedInBatch == 0) {
            releaseBatch();
        }
    }

    /**
     * True while a sequence has K/V to compute before it can sample: its prompt at first, or after new weights under
     * recompute its prompt and the tokens it generated (a decoding sequence has only its last sampled token to feed).
     */
    private static boolean needsPrefill(Sequence s) {
        return s.numComputedTokens < s.numPromptTokens() || s.numUncomputedTokens() > 1;
    }

    /**
     * Recompute in place: each unfinished sequence of the batch keeps the blocks it reserved and forgets their K/V, so
     * the batch is prefilled again in lock step (prompt + generated tokens) under the new weights before it decodes
     * on. Finished sequences are padding and need nothing. Nothing goes back to the queue: the reservation stays.
     */
    @Override
    public void requeueRunningForRecompute() {
        for (Sequence s : batch) {
            if (!s.isFinished()) {
                s.numComputedTokens = 0;
            }
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
