package dev.rollout.engine;

import java.util.List;

/**
 * Decides which sequences take part in each engine step, keeps their blocks, and does the step's bookkeeping once the
 * tokens are sampled. Two policies: {@link ContinuousScheduler} (continuous batching) and {@link StaticScheduler} (the
 * padded {@code generate()} baseline). Engine thread only.
 */
interface Scheduler {

    /** Queues the samples of one prompt, in sample order. */
    void add(List<Sequence> samples);

    /** The next step's work; empty when there is nothing to run. */
    ScheduledBatch schedule();

    /**
     * After the step's forward and sampling (nano-vllm's {@code postprocess}, vLLM v1's {@code update_from_output}):
     * marks the batch's tokens computed (filling the prefix cache), forks the samples that waited on a prefill
     * finished in this step, appends each sampled token to its sequence, and finishes (releasing the blocks of) every
     * sequence that stopped. {@code sampled} is in the order of {@link ScheduledBatch#draws}. Returns the sequences
     * that finished, in that order.
     */
    List<Sequence> update(ScheduledBatch batch, Sampler.Sample[] sampled);

    /**
     * Makes every running sequence compute its K/V again under new weights, from its prompt and generated tokens
     * (their log-probs are kept), before it samples its next token: the continuous scheduler frees the blocks and puts
     * the sequences back at the front of the queue, in their order; the static one keeps its batch's reservation and
     * prefills the batch again in place.
     */
    void requeueRunningForRecompute();

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
