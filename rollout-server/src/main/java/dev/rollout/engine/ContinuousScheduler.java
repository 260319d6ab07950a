package dev.rollout.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuous batching (vLLM v1): every step spends a budget of {@code maxBatchTokens} on running sequences first (one
 * decode token each, or their next prefill chunk), then admits waiting sequences in FIFO order, chunking a prefill to
 * what is left of the budget. When a running sequence cannot get a block, the newest running sequence is preempted by
 * recompute: its blocks are freed and it goes back to the front of the queue, keeping its generated tokens and log-probs,
 * which become part of the prefix it recomputes. A step that preempted admits nobody. The samples of a prompt share its
 * prefill: only the first is queued; the others are forked from it when its prefill is done.
 */
final class ContinuousScheduler implements Scheduler {
    private final BlockManager blocks;
    private final StopConditions stops;
    private final int maxBatchTokens;
    private final int maxNumSeqs;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Oldest admitted first: preemption takes from the end. */
    private final List<Sequence> running = new ArrayList<>();
    private long preemptions;
    private long cacheHitTokens;

    ContinuousScheduler(BlockManager blocks, StopConditions stops, int maxBatchTokens, int maxNumSeqs) {
        this.blocks = blocks;
        this.stops = stops;
        this.maxBatchTokens = maxBatchTokens;
        this.maxNumSeqs = maxNumSeqs;
    }

    @Override
    public void add(List<Sequence> samples) {
        Sequence first = samples.get(0);
        for (Sequence s : samples.subList(1, samples.size())) {
            s.forkSource = first;
            first.pendingForks.add(s);
        }
        first.status = Sequence.Status.WAITING;
        waiting.addLast(first);
    }

    @Override
    public ScheduledBatch schedule() {
        int budget = maxBatchTokens;
        List<ScheduledBatch.Chunk> chunks = new ArrayList<>();
        boolean preempted = false;
        int index = 0;
        while (index < running.size() && budget > 0) {
            Sequence seq = running.get(index);
            int numNew = Math.min(seq.numUncomputedTokens(), budget);
            while (!blocks.canAppend(seq, numNew) && running.get(running.size() - 1) != seq) {
                preempt(running.get(running.size() - 1));
                preempted = true;
            }
            if (!blocks.canAppend(seq, numNew)) {
                preempt(seq);
                preempted = true;
                break;
            }
            blocks.append(seq, numNew);
            chunks.add(chunk(seq, numNew));
            budget -= numNew;
            index++;
        }
        if (!preempted) {
            budget = admitWaiting(budget, chunks);
        }
        if (chunks.isEmpty()) {
            return ScheduledBatch.EMPTY;
        }
        return new ScheduledBatch(chunks, blocks.drainPendingCopies());
    }

    private int admitWaiting(int budget, List<ScheduledBatch.Chunk> chunks) {
        while (!waiting.isEmpty() && budget > 0) {
            Sequence seq = waiting.peekFirst();
            int groupSize = 1 + seq.pendingForks.size();
            // A group larger than max_num_seqs still runs, alone, rather than never.
            if (!running.isEmpty() && running.size() + groupSize > maxNumSeqs) {
                break;
            }
            BlockManager.CachedPrefix prefix = blocks.findCachedPrefix(seq);
            int cached = prefix.numBlocks() * blocks.blockSize();
            int numNew = Math.min(seq.numTokens() - cached, budget);
            if (!blocks.canAllocate(prefix, cached + numNew)) {
                break;
            }
            waiting.pollFirst();
            blocks.allocate(seq, prefix, cached + numNew);
            if (seq.numCachedTokens < 0) {
                seq.numCachedTokens = Math.min(cached, seq.numPromptTokens());
            }
            cacheHitTokens += cached;
            seq.status = Sequence.Status.RUNNING;
            running.add(seq);
            chunks.add(chunk(seq, numNew));
            budget -= numNew;
        }
        return budget;
    }

    private static ScheduledBatch.Chunk chunk(Sequence seq, int numNew) {
        boolean sampled = seq.numComputedTokens + numNew == seq.numTokens();
        List<Sequence> forks = sampled && !seq.pendingForks.isEmpty() ? List.copyOf(seq.pendingForks) : List.of();
        return new ScheduledBatch.Chunk(seq, numNew, sampled, forks);
    }

    private void preempt(Sequence seq) {
        requeue(seq);
        preemptions++;
    }

    private void requeue(Sequence seq) {
        running.remove(seq);
        blocks.free(seq);
        seq.status = Sequence.Status.WAITING;
        waiting.addFirst(seq);
    }

    @Override
    public void requeueRunningForRecompute() {
        // Newest first onto the front of the queue: the oldest ends up first, as they ran.
        for (int i = running.size() - 1; i >= 0; i--) {
            requeue(running.get(i));
        }
    }

    @Override
    public List<Sequence> update(ScheduledBatch batch, Sampler.Sample[] sampled) {
        List<Sequence> sampling = new ArrayList<>(sampled.length);
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            Sequence seq = c.sequence();
            blocks.markComputed(seq, c.numTokens());
            if (c.lastRowSampled()) {
                sampling.add(seq);
                // Forked now, before anything finishes: the parent may end on this very token and release the shared blocks.
                sampling.addAll(forkPending(seq));
            }
        }
        List<Sequence> finished = new ArrayList<>();
        for (int i = 0; i < sampled.length; i++) {
            Sequence seq = sampling.get(i);
            seq.appendToken(sampled[i].tokenId(), sampled[i].logprob());
            FinishReason reason = stops.check(seq, sampled[i].tokenId());
            if (reason != null) {
                finish(seq, reason);
                finished.add(seq);
            }
        }
        return finished;
    }

    /**
     * After a step in which {@code seq} finished its prefill: the samples of the same prompt that waited to share that
     * prefill, now holding references to its blocks and running. They sample their first token from the same logits.
     */
    List<Sequence> forkPending(Sequence seq) {
        if (seq.pendingForks.isEmpty()) {
            return List.of();
        }
        List<Sequence> forked = new ArrayList<>(seq.pendingForks);
        seq.pendingForks.clear();
        for (Sequence child : forked) {
            child.forkSource = null;
            blocks.fork(seq, child);
            child.status = Sequence.Status.RUNNING;
            running.add(child);
        }
        return forked;
    }

    /** Ends a sequence (it produced a stop token or reached its length) and releases its blocks. */
    void finish(Sequence seq, FinishReason reason) {
        running.remove(seq);
        blocks.free(seq);
        seq.status = Sequence.Status.FINISHED;
        seq.finishReason = reason;
    }

    @Override
    public void abort(Sequence seq) {
        if (seq.isFinished()) {
            return;
        }
        if (seq.forkSource != null) {
            seq.forkSource.pendingForks.remove(seq);
            seq.forkSource = null;
        } else if (!waiting.remove(seq)) {
            running.remove(seq);
        }
        // Samples still waiting on this one are promoted so that they are not stranded.
        if (!seq.pendingForks.isEmpty()) {
            Sequence next = seq.pendingForks.remove(0);
            next.forkSource = null;
            for (Sequence s : seq.pendingForks) {
                s.forkSource = next;
                next.pendingForks.add(s);
            }
            seq.pendingForks.clear();
            waiting.addFirst(next);
        }
        blocks.free(seq);
        seq.status = Sequence.Status.FINISHED;
        seq.finishReason = FinishReason.ABORTED;
    }

    @Override
    public int numRunning() {
        return running.size();
    }

    @Override
    public int numWaiting() {
        int n = 0;
        for (Sequence s : waiting) {
            n += 1 + s.pendingForks.size();
        }
        return n;
    }

    @Override
    public long numPreemptions() {
        return preemptions;
    }

    @Override
    public long numCacheHitTokens() {
        return cacheHitTokens;
    }
}
