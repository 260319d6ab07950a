/**
 * The inference engine, in the shape of vLLM v1 and nano-vllm: one concept per file.
 *
 * <ul>
 *   <li>{@link dev.rollout.engine.Engine}: the public entry point; one engine thread runs steps and the commands other
 *       threads post (submit, cancel, weight swap, prefix-cache reset) between them.</li>
 *   <li>{@code Sequence}: one completion in flight (tokens, log-probs, computed count, block table, its own RNG).</li>
 *   <li>{@code BlockManager}: ref-counted KV blocks, free list, prefix cache by chained block hashes, forks and
 *       copy-on-write. {@code KvCache} (in the model package): the tensors themselves; {@code KvCacheSizing}: how many blocks fit.</li>
 *   <li>{@code Scheduler}: {@code ContinuousScheduler} (continuous batching, chunked prefill, preemption by recompute)
 *       and {@code StaticScheduler} (the padded {@code generate()} baseline) produce a {@code ScheduledBatch} and, after
 *       sampling, do the step's bookkeeping in {@code update}.</li>
 *   <li>{@code ModelRunner}: one flat forward per step; {@code Sampler}: temperature, top-k, top-p, min-p and
 *       log-probs in plain Java; {@code StopConditions}: EOS, stop ids, lengths.</li>
 * </ul>
 *
 * <p>A step reads schedule → execute → sample → update: the scheduler picks the chunks (and block copies), the runner
 * makes the forward and returns the logits of the rows that sample, the sampler draws a token per sampling sequence,
 * and the scheduler's {@code update} marks the tokens computed (filling the prefix cache), forks the samples that
 * waited on a shared prefill, appends the tokens and finishes what stopped; the engine delivers the finished ones.
 */
package dev.rollout.engine;
