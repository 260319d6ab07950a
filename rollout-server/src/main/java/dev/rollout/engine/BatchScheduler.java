package dev.rollout.engine;

import java.util.List;

/**
 * Decides which sequences take part in each engine step and keeps their blocks. Two policies: {@link Scheduler}
 * (continuous batching) and {@link StaticScheduler} (the padded {@code generate()} baseline). Engine thread only.
 */
interface BatchScheduler {

    /** Queues the samples of one prompt, in sample order. */
    void add(List<Sequence> samples);

    /** The next step's work; empty when there is nothing to run. */
    ScheduledBatch schedule();

    /**
     * After a step in which {@code sequence} finished its prefill: the samples of the same prompt that waited to share
     * that prefill, now holding references to its blocks and running. They sample their first token from the same logits.
     */
    List<Sequence> forkPending(Sequence sequence);

    /** Ends a sequence (it produced a stop token or reached its length) and releases its blocks. */
    void finish(Sequence sequence, FinishReason reason);

    /** Ends a sequence wherever it is (waiting, running, or waiting to be forked) and releases its blocks. */
    void abort(Sequence sequence);

    int numRunning();

    int numWaiting();

    default boolean hasWork() {
        return numRunning() + numWaiting() > 0;
    }

    /** Sequences preempted (blocks freed, to be recomputed) so far. */
    long numPreemptions();

    /** Prompt (and recomputed) tokens found in the prefix cache on admission so far. */
    long numCacheHitTokens();
}
