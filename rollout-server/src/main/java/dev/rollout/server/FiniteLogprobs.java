package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last check before a completion leaves the server: a NaN or infinite log-prob would silently poison the
 * trainer's importance-sampling correction, so it is an error, never an OK answer. With validated sampling parameters
 * it can only come from non-finite logits, i.e. broken weights.
 */
final class FiniteLogprobs {
    private static final Logger log = LoggerFactory.getLogger(FiniteLogprobs.class);

    private FiniteLogprobs() {}

    static Status check(CompletionResult r) {
        float[] logprobs = r.logprobs();
        for (int i = 0; i < logprobs.length; i++) {
            if (!Float.isFinite(logprobs[i])) {
                log.error("completion {}/{} of weight version {} has log-prob {} at token {}: the model's logits are not finite",
                        r.promptIndex(), r.sampleIndex(), r.weightVersion(), logprobs[i], i);
                return Status.INTERNAL.withDescription("the model produced a non-finite log-prob (" + logprobs[i] + ") for prompt "
                        + r.promptIndex() + ", sample " + r.sampleIndex() + ", token " + i + " with weight version " + r.weightVersion()
                        + ": the served weights are numerically broken; sync finite weights");
            }
        }
        return Status.OK;
    }
}
