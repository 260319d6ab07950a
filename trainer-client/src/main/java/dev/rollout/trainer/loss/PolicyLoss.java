package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.Scalars;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GRPO's policy loss, as TRL's {@code _compute_loss} computes it. Ratio r = exp(logp − old) per token (or, at sequence
 * level, exp of the masked mean log-ratio: GSPO). The per-token loss is by {@code loss_type}: the clipped surrogate
 * {@code −min(r·A, clip(r, 1−ε, 1+ε_high)·A)} with r capped at δ when {@code delta} is set (two-sided clipping);
 * {@code cispo} {@code −sg(min(r, ε_high))·A·logp}; {@code sapo} {@code −σ(τ(r − 1))·4/τ·A} with τ by the sign of A;
 * {@code vespo} {@code −φ·A·logp} (see {@link VespoWeights}). It is then multiplied by the off-policy sequence mask,
 * the high-entropy token mask and the sampler-correction ratio ρ (not for vespo, which folds ρ into φ), and β·k3 is
 * added with {@code k3 = exp(ref − logp) − (ref − logp) − 1} (times r with {@code use_bias_correction_kl}). The result
 * is aggregated over the completion mask by {@code loss_type}.
 */
public final class PolicyLoss {

    /** The objective's constants, from the config. */
    public record Settings(LossType lossType, ImportanceSamplingLevel level, double epsilonLow, double epsilonHigh,
            double beta, int maxCompletionLength, Double delta, double sapoTemperaturePos, double sapoTemperatureNeg,
            double topEntropyQuantile, Double offPolicyMaskThreshold, boolean useBiasCorrectionKl,
            VespoWeights.Shape vespo) {

        /** TRL's defaults for every option beyond the clipped objective's. */
        public Settings(LossType lossType, ImportanceSamplingLevel level, double epsilonLow, double epsilonHigh,
                double beta, int maxCompletionLength) {
            this(lossType, level, epsilonLow, epsilonHigh, beta, maxCompletionLength, null, 1.0, 1.05, 1.0, null, false,
                    VespoWeights.Shape.TRL_DEFAULT);
        }

        public static Settings from(TrainerConfig config) {
            return new Settings(config.lossType(), config.importanceSamplingLevel(), config.epsilon(),
                    config.epsilonHigh(), config.beta(), config.maxCompletionLength(), config.delta(),
                    config.sapoTemperaturePos(), config.sapoTemperatureNeg(), config.topEntropyQuantile(),
                    config.offPolicyMaskThreshold(), config.useBiasCorrectionKl(),
                    new VespoWeights.Shape(config.vespoKPos(), config.vespoLambdaPos(), config.vespoKNeg(),
                            config.vespoLambdaNeg()));
        }
    }

    /**
     * One micro-batch of B completions, T positions each.
     *
     * @param logProbs         [B, T] the policy's log-probs, carrying the gradient
     * @param oldLogProbs      [B, T] the log-probs before this step's updates, or null when num_iterations = 1 (then
     *                         the detached {@code logProbs} are used, and the ratio is 1 with gradient 1)
     * @param refLogProbs      [B, T] the reference model's log-probs; required when β ≠ 0, else ignored
     * @param advantages       [B]
     * @param mask             [B, T] fp32 completion mask (see {@link CompletionMask})
     * @param samplingRatio    the sampler-correction ratio ρ ([B, T] or [B, 1], see {@link SamplingCorrection}), or null
     * @param entropy          [B, T] per-position entropies, for logging and {@code top_entropy_quantile}, or null
     * @param samplingLogProbs [B, T] the server's log-probs, for {@code off_policy_mask_threshold}; null means the old
     *                         log-probs stand in for them, as in TRL without vLLM
     */
    public record Batch(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages, NDArray mask,
            NDArray samplingRatio, NDArray entropy, NDArray samplingLogProbs) {
        public Batch(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages, NDArray mask,
                NDArray samplingRatio, NDArray entropy) {
            this(logProbs, oldLogProbs, refLogProbs, advantages, mask, samplingRatio, entropy, null);
        }
    }

    private PolicyLoss() {
    }

    /**
     * @param generationBatchTokens active (masked-in) tokens over the whole generation batch, all micro-batches of the
     *                              step together: the {@code dapo}, {@code cispo} and {@code vespo} normaliser
     * @param accumulationSteps     micro-batches per optimizer step: the other loss types divide by it, as TRL does,
     *                              so the step's gradient is their mean
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
        float[] adv = batch.advantages().toFloatArray();
        NDArray advantages = batch.advantages().reshape(rows, 1);

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

        NDArray kl = null;
        if (settings.beta() != 0.0) {
            if (batch.refLogProbs() == null) {
                throw new IllegalArgumentException("beta = " + settings.beta() + " needs the reference model's log-probs");
            }
            NDArray refMinusLogp = batch.refLogProbs().sub(logp);
            kl = refMinusLogp.exp().sub(refMinusLogp).sub(1f);
            if (settings.useBiasCorrectionKl()) {
                kl = kl.mul(ratio);
            }
        }

        Map<String, Double> stats = new LinkedHashMap<>();
        NDArray perTokenLoss;
        NDArray clipStatsRatio = ratio;
        switch (settings.lossType()) {
            case CISPO -> {
                NDArray capped = ratio.minimum((float) settings.epsilonHigh()).stopGradient();
                perTokenLoss = capped.mul(advantages).mul(logp).neg();
            }
            case SAPO -> {
                float[] temperatures = new float[(int) rows];
                for (int b = 0; b < rows; b++) {
                    temperatures[b] = (float) (adv[b] > 0 ? settings.sapoTemperaturePos() : settings.sapoTemperatureNeg());
                }
                NDArray tau = manager.create(temperatures, new Shape(rows, 1));
                NDArray soft = Scalars.mul(ratio.sub(1f).mul(tau).getNDArrayInternal().sigmoid(), 4).div(tau);
                perTokenLoss = soft.mul(advantages).neg();
            }
            case VESPO -> {
                float[] ratioOrNull = batch.samplingRatio() == null ? null : batch.samplingRatio().toFloatArray();
                float[] phi = VespoWeights.phi(logRatio.toFloatArray(), ratioOrNull, m, adv, width, settings.vespo());
                NDArray phiSeq = manager.create(phi, new Shape(rows, 1));
                perTokenLoss = phiSeq.mul(advantages).mul(logp).neg();
                stats.put("vespo/phi_seq_mean", LossStats.maskedMean(phi, m, width));
            }
            default -> {
                NDArray clipped = ratio.clip((float) (1 - settings.epsilonLow()), (float) (1 + settings.epsilonHigh()));
                // a libtorch-owned constant: autograd keeps what minimum compares against (see Scalars)
                NDArray unclipped = settings.delta() == null ? ratio
                        : ratio.minimum(manager.full(new Shape(), settings.delta().floatValue(), DataType.FLOAT32));
                perTokenLoss = unclipped.mul(advantages).minimum(clipped.mul(advantages)).neg();
                clipStatsRatio = unclipped;
            }
        }
        if (settings.offPolicyMaskThreshold() != null) {
            NDArray sampling = batch.samplingLogProbs() != null ? batch.samplingLogProbs() : old;
            float[] keep = LossMasks.offPolicy(logp.toFloatArray(), sampling.toFloatArray(), m, adv, width,
                    settings.offPolicyMaskThreshold());
            perTokenLoss = perTokenLoss.mul(manager.create(keep, new Shape(rows, 1)));
        }
        if (settings.topEntropyQuantile() < 1.0) {
            if (batch.entropy() == null) {
                throw new IllegalArgumentException("top_entropy_quantile < 1 needs the per-token entropies");
            }
            float[] keep = LossMasks.highEntropy(batch.entropy().toFloatArray(), m, settings.topEntropyQuantile());
            perTokenLoss = perTokenLoss.mul(manager.create(keep, new Shape(rows, width)));
        }
        if (batch.samplingRatio() != null && settings.lossType() != LossType.VESPO) {
            perTokenLoss = perTokenLoss.mul(batch.samplingRatio());
        }
        if (kl != null) {
            perTokenLoss = perTokenLoss.add(Scalars.mul(kl, settings.beta()));
        }

        NDArray loss = aggregate(perTokenLoss, mask, rowTokens, tokens, settings, generationBatchTokens,
                accumulationSteps);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("loss", (double) loss.getFloat());
        if (kl != null) {
            out.put("kl", LossStats.maskedMean(kl.toFloatArray(), m, width));
        }
        if (batch.entropy() != null) {
            out.put("entropy", LossStats.maskedMean(batch.entropy().toFloatArray(), m, width));
        }
        if (settings.lossType().clipsTheRatio()) {
            LossStats.putClipRatios(out, clipStatsRatio.toFloatArray(), adv, m, width, settings.epsilonLow(),
                    settings.epsilonHigh());
        } else if (settings.lossType() == LossType.CISPO) {
            out.put("cispo_clip_ratio", LossStats.cispoClipRatio(ratio.toFloatArray(), adv, m, width,
                    settings.epsilonHigh()));
        }
        out.putAll(stats);
        return new LossResult(loss, out);
    }

    private static NDArray aggregate(NDArray perTokenLoss, NDArray mask, float[] rowTokens, double tokens,
            Settings settings, double generationBatchTokens, int accumulationSteps) {
        NDManager manager = mask.getManager();
        NDArray masked = perTokenLoss.mul(mask);
        return switch (settings.lossType()) {
            case GRPO, SAPO -> Scalars.div(masked.sum(new int[] {1}).div(manager.create(clampedAtOne(rowTokens))).mean(),
                    accumulationSteps);
            case BNPO -> Scalars.div(masked.sum(), Math.max(tokens, 1.0) * accumulationSteps);
            case DR_GRPO -> Scalars.div(masked.sum(),
                    (double) rowTokens.length * settings.maxCompletionLength() * accumulationSteps);
            case DAPO, CISPO, VESPO -> Scalars.div(masked.sum(), Math.max(generationBatchTokens, 1.0));
            // TRL: (per_token_loss * mask.sum(1, keepdim=True)).mean(): each sequence's loss times its length
            case LUSPO -> Scalars.div(perTokenLoss.mul(manager.create(rowTokens, new Shape(rowTokens.length, 1))).mean(),
                    accumulationSteps);
        };
    }

    private static float[] clampedAtOne(float[] counts) {
        float[] out = new float[counts.length];
        for (int i = 0; i < counts.length; i++) {
            out[i] = Math.max(counts[i], 1f);
        }
        return out;
    }
}
