package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.Scalars;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GRPO's clipped surrogate objective, as TRL computes it. Per token: ratio r = exp(logp − old) (or, at sequence
 * level, exp of the masked mean log-ratio: GSPO), {@code L = −min(r·A, clip(r, 1−ε, 1+ε_high)·A)}, times the
 * sampler-correction ratio ρ when given, plus β·k3 with {@code k3 = exp(ref − logp) − (ref − logp) − 1} when β ≠ 0.
 * The per-token losses are aggregated over the completion mask by {@code loss_type}.
 */
public final class PolicyLoss {

    /** The objective's constants, from the config. */
    public record Settings(LossType lossType, ImportanceSamplingLevel level, double epsilonLow, double epsilonHigh,
            double beta, int maxCompletionLength) {
        public static Settings from(TrainerConfig config) {
            return new Settings(config.lossType(), config.importanceSamplingLevel(), config.epsilon(),
                    config.epsilonHigh(), config.beta(), config.maxCompletionLength());
        }
    }

    /**
     * One micro-batch of B completions, T positions each.
     *
     * @param logProbs      [B, T] the policy's log-probs, carrying the gradient
     * @param oldLogProbs   [B, T] the log-probs before this step's updates, or null when num_iterations = 1 (then
     *                      the detached {@code logProbs} are used, and the ratio is 1 with gradient 1)
     * @param refLogProbs   [B, T] the reference model's log-probs; required when β ≠ 0, else ignored
     * @param advantages    [B]
     * @param mask          [B, T] fp32 completion mask (see {@link CompletionMask})
     * @param samplingRatio the sampler-correction ratio ρ ([B, T] or [B, 1], see {@link SamplingCorrection}), or null
     * @param entropy       [B, T] per-position entropies for logging, or null
     */
    public record Batch(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages, NDArray mask,
            NDArray samplingRatio, NDArray entropy) {
    }

    private PolicyLoss() {
    }

    /**
     * @param generationBatchTokens active (masked-in) tokens over the whole generation batch, all micro-batches of the
     *                              step together: the {@code dapo} normaliser
     * @param accumulationSteps     micro-batches per optimizer step: {@code grpo}, {@code bnpo} and {@code dr_grpo}
     *                              divide by it, as TRL does, so the step's gradient is their mean
     */
    public static LossResult compute(Batch batch, Settings settings, double generationBatchTokens, int accumulationSteps) {
        NDArray logp = batch.logProbs();
        NDArray mask = batch.mask();
        NDManager manager = mask.getManager();
        long rows = mask.getShape().get(0);
        long width = mask.getShape().get(1);
        float[] m = mask.toFloatArray();
        float[] rowTokens = new float[(int) rows];
        double tokens = 0;
        for (int i = 0; i < m.length; i++) {
            rowTokens[(int) (i / width)] += m[i];
            tokens += m[i];
        }

        NDArray old = batch.oldLogProbs() != null ? batch.oldLogProbs() : logp.stopGradient();
        NDArray logRatio = logp.sub(old);
        NDArray logWeights;
        if (settings.level() == ImportanceSamplingLevel.TOKEN) {
            logWeights = logRatio;
        } else {
            NDArray perRow = manager.create(clampedAtOne(rowTokens), new Shape(rows, 1));
            logWeights = logRatio.mul(mask).sum(new int[] {1}, true).div(perRow);
        }
        NDArray ratio = logWeights.exp();
        NDArray clipped = ratio.clip((float) (1 - settings.epsilonLow()), (float) (1 + settings.epsilonHigh()));
        NDArray advantages = batch.advantages().reshape(rows, 1);
        NDArray perTokenLoss = ratio.mul(advantages).minimum(clipped.mul(advantages)).neg();
        if (batch.samplingRatio() != null) {
            perTokenLoss = perTokenLoss.mul(batch.samplingRatio());
        }
        NDArray kl = null;
        if (settings.beta() != 0.0) {
            if (batch.refLogProbs() == null) {
                throw new IllegalArgumentException("beta = " + settings.beta() + " needs the reference model's log-probs");
            }
            NDArray refMinusLogp = batch.refLogProbs().sub(logp);
            kl = refMinusLogp.exp().sub(refMinusLogp).sub(1f);
            perTokenLoss = perTokenLoss.add(Scalars.mul(kl, settings.beta()));
        }

        NDArray masked = perTokenLoss.mul(mask);
        NDArray loss = switch (settings.lossType()) {
            case GRPO -> Scalars.div(masked.sum(new int[] {1}).div(manager.create(clampedAtOne(rowTokens))).mean(), accumulationSteps);
            case BNPO -> Scalars.div(masked.sum(), Math.max(tokens, 1.0) * accumulationSteps);
            case DR_GRPO -> Scalars.div(masked.sum(), (double) rows * settings.maxCompletionLength() * accumulationSteps);
            case DAPO -> Scalars.div(masked.sum(), Math.max(generationBatchTokens, 1.0));
        };

        Map<String, Double> stats = new LinkedHashMap<>();
        stats.put("loss", (double) loss.getFloat());
        if (kl != null) {
            stats.put("kl", LossStats.maskedMean(kl.toFloatArray(), m, width));
        }
        if (batch.entropy() != null) {
            stats.put("entropy", LossStats.maskedMean(batch.entropy().toFloatArray(), m, width));
        }
        LossStats.putClipRatios(stats, ratio.toFloatArray(), batch.advantages().toFloatArray(), m, width,
                settings.epsilonLow(), settings.epsilonHigh());
        return new LossResult(loss, stats);
    }

    private static float[] clampedAtOne(float[] counts) {
        float[] out = new float[counts.length];
        for (int i = 0; i < counts.length; i++) {
            out[i] = Math.max(counts[i], 1f);
        }
        return out;
    }
}
