package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import dev.rollout.model.Scalars;

/**
 * Per-token log-probabilities of the sampled completion tokens under the policy, and the entropy of each position's
 * distribution. As in TRL (and the server's processed log-probs), the logits are divided by the sampling temperature
 * before the log-softmax, so trainer and sampler score the same distribution.
 *
 * @param logProbs [B, T]: log π(token_t | prefix), differentiable with respect to the logits
 * @param entropy  [B, T]: −Σ_v p_v log p_v per position, detached (it is logged, not optimised)
 */
public record TokenLogProbs(NDArray logProbs, NDArray entropy) {

    /**
     * @param logits        [B, T, V]: row t holds the logits that predicted completion token t (i.e. the model's
     *                      output at the position before it), fp32
     * @param completionIds int64 [B, T]: the sampled tokens; padding positions may hold any valid id (they are masked later)
     * @param temperature   the sampling temperature, > 0
     */
    public static TokenLogProbs compute(NDArray logits, NDArray completionIds, double temperature) {
        if (logits.getShape().dimension() != 3 || completionIds.getShape().dimension() != 2
                || logits.getShape().get(0) != completionIds.getShape().get(0)
                || logits.getShape().get(1) != completionIds.getShape().get(1)) {
            throw new IllegalArgumentException("logits must be [B, T, V] and completion ids [B, T]; got "
                    + logits.getShape() + " and " + completionIds.getShape());
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0 to score completions, got " + temperature);
        }
        NDArray logSoftmax = (temperature == 1.0 ? logits : Scalars.div(logits, temperature)).logSoftmax(-1);
        NDArray picked = logSoftmax.gather(completionIds.expandDims(-1), -1).squeeze(-1);
        NDArray detached = logSoftmax.stopGradient();
        NDArray entropy = detached.exp().mul(detached).sum(new int[] {-1}).neg();
        return new TokenLogProbs(picked, entropy);
    }
}
