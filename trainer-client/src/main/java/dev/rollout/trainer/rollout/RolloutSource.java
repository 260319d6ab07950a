package dev.rollout.trainer.rollout;

import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;

/** Where completions come from: remote rollout servers, or an engine in the trainer's own JVM (colocate). */
public interface RolloutSource extends AutoCloseable {

    /** {@code sampling.n} completions per prompt, ordered by (prompt, sample), none from weights older than {@code minWeightVersion}. */
    GenerateBatchResponse generate(java.util.List<Prompt> prompts, SamplingParams sampling, long minWeightVersion);

    /**
     * Makes the policy's current weights the ones that generate from now on, as {@code version}.
     *
     * @return what the publication cost and moved, for the step's log
     */
    Publication publish(long version);

    /** What a weight publication cost: bytes sent per server (0 when colocated) and wall seconds. */
    record Publication(long bytes, double seconds) {}

    /** The source's servers for async generation, one streamed call per group; null when it has none (colocated). */
    default dev.rollout.trainer.async.GroupSource groups() {
        return null;
    }

    /** Where to read this source's server metrics, for the progress line; empty when there is none. */
    String describe();

    @Override
    void close();
}
