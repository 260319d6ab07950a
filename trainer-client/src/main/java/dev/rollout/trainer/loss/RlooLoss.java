package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import dev.rollout.model.Scalars;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RLOO's sequence-level clipped objective, as TRL computes it: ρ_i = exp(Σ_t logp_it − Σ_t old_it) over the mask,
 * {@code loss = mean_i −min(ρ_i·A_i, clip(ρ_i, 1−ε, 1+ε_high)·A_i)}. The KL penalty is not here: RLOO folds it into
 * the reward (see {@link Advantages#rloo}).
 */
public final class RlooLoss {
    private RlooLoss() {
    }

    /**
     * @param logProbs            [B, T] the policy's log-probs, carrying the gradient
     * @param oldSequenceLogProbs [B] Σ_t old_t over the mask, computed before the step's updates; null when
     *                            num_iterations = 1 (then the detached current sums are used)
     * @param advantages          [B]
     * @param mask                [B, T] fp32 completion mask
     * @param entropy             [B, T] per-position entropies for logging, or null
     * @param accumulationSteps   micro-batches per optimizer step; the loss is divided by it
     */
    public static LossResult compute(NDArray logProbs, NDArray oldSequenceLogProbs, NDArray advantages, NDArray mask,
            NDArray entropy, double epsilonLow, double epsilonHigh, int accumulationSteps) {
        NDArray sequenceLogProbs = logProbs.mul(mask).sum(new int[] {1});
        NDArray old = oldSequenceLogProbs != null ? oldSequenceLogProbs : sequenceLogProbs.stopGradient();
        NDArray ratio = sequenceLogProbs.sub(old).exp();
        NDArray clipped = ratio.clip((float) (1 - epsilonLow), (float) (1 + epsilonHigh));
        NDArray perSequence = ratio.mul(advantages).minimum(clipped.mul(advantages)).neg();
        NDArray loss = Scalars.div(perSequence.mean(), accumulationSteps);

        float[] m = mask.toFloatArray();
        long width = mask.getShape().get(1);
        Map<String, Double> stats = new LinkedHashMap<>();
        stats.put("loss", (double) loss.getFloat());
        if (entropy != null) {
            stats.put("entropy", LossStats.maskedMean(entropy.toFloatArray(), m, width));
        }
        LossStats.putClipRatios(stats, ratio.toFloatArray(), advantages.toFloatArray(), m, width, epsilonLow, epsilonHigh);
        return new LossResult(loss, stats);
    }
}
