package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import dev.rollout.trainer.config.SamplingCorrectionMode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The importance ratio that corrects for the sampler (the rollout server) and the trainer disagreeing about the
 * probability of the sampled tokens: Δ_t = old_t − sampling_t over the completion mask; {@code token_*} modes use
 * ρ_t = exp(Δ_t), {@code sequence_*} modes one ρ = exp(Σ_t Δ_t) per sequence; {@code *_truncate} clamps ρ into
 * [clip_min, clip_max], {@code *_mask} sets it to 0 outside. The per-token loss is multiplied by ρ. Nothing here
 * carries a gradient: both log-prob tensors are fixed for the step.
 *
 * @param ratio  [B, T] for token modes, [B, 1] for sequence modes
 * @param totals what TRL logs, in a form that adds up over micro-batches (see {@link Totals})
 */
public record SamplingCorrection(NDArray ratio, Totals totals) {

    /** This micro-batch's statistics, as {@link Totals#metrics()} names them. */
    public Map<String, Double> stats() {
        return totals.metrics();
    }

    /**
     * Sums, counts and extremes of |old − sampling| over the mask and of the ratio (over the mask for token modes,
     * over sequences for sequence modes), so that a generation batch's statistics are those of all its micro-batches
     * together, as TRL computes them once per generation.
     */
    public record Totals(double diffSum, long diffCount, double diffMax, double ratioSum, long ratioCount,
            double ratioMin, double ratioMax) {
        public static final Totals NONE = new Totals(0, 0, 0, 0, 0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);

        public Totals plus(Totals o) {
            return new Totals(diffSum + o.diffSum, diffCount + o.diffCount, Math.max(diffMax, o.diffMax),
                    ratioSum + o.ratioSum, ratioCount + o.ratioCount, Math.min(ratioMin, o.ratioMin),
                    Math.max(ratioMax, o.ratioMax));
        }

        /**
         * {@code sampling/sampling_logp_difference/mean|max} and {@code sampling/importance_sampling_ratio/min|mean|max};
         * 0 where there is nothing to measure.
         */
        public Map<String, Double> metrics() {
            Map<String, Double> stats = new LinkedHashMap<>();
            stats.put("sampling/sampling_logp_difference/mean", diffCount == 0 ? 0.0 : diffSum / diffCount);
            stats.put("sampling/sampling_logp_difference/max", diffMax);
            stats.put("sampling/importance_sampling_ratio/min", ratioCount == 0 ? 0.0 : ratioMin);
            stats.put("sampling/importance_sampling_ratio/mean", ratioCount == 0 ? 0.0 : ratioSum / ratioCount);
            stats.put("sampling/importance_sampling_ratio/max", ratioCount == 0 ? 0.0 : ratioMax);
            return stats;
        }
    }

    /**
     * @param oldLogProbs      [B, T] the trainer's log-probs of the sampled tokens before this step's update
     * @param samplingLogProbs [B, T] the server's log-probs of the same tokens
     * @param mask             [B, T] fp32, 1 for completion tokens that count
     * @param clipMin          lower bound, or null for none
     * @param clipMax          upper bound, or null for none
     */
    public static SamplingCorrection compute(NDArray oldLogProbs, NDArray samplingLogProbs, NDArray mask,
            SamplingCorrectionMode mode, Double clipMin, Double clipMax) {
        NDArray logDiff = oldLogProbs.stopGradient().sub(samplingLogProbs).mul(mask);
        if (mode.sequenceLevel()) {
            logDiff = logDiff.sum(new int[] {1}, true);
        }
        NDArray ratio = logDiff.exp();
        double low = clipMin == null ? Double.NEGATIVE_INFINITY : clipMin;
        double high = clipMax == null ? Double.POSITIVE_INFINITY : clipMax;
        if (mode.truncates()) {
            ratio = ratio.clip((float) low, (float) high);
        } else {
            // selected, not multiplied by a 0/1 mask: a ratio that overflowed to infinity times 0 is NaN (TRL: masked_fill)
            NDArray inside = ratio.gte((float) low).logicalAnd(ratio.lte((float) high));
            ratio = NDArrays.where(inside, ratio, ratio.zerosLike());
        }
        return new SamplingCorrection(ratio, totals(oldLogProbs, samplingLogProbs, mask, ratio, mode.sequenceLevel()));
    }

    private static Totals totals(NDArray old, NDArray sampling, NDArray mask, NDArray ratio,
            boolean sequenceLevel) {
        float[] o = old.toFloatArray();
        float[] s = sampling.toFloatArray();
        float[] m = mask.toFloatArray();
        float[] r = ratio.toFloatArray();
        double diffSum = 0;
        double diffMax = 0;
        long diffCount = 0;
        double ratioMin = Double.POSITIVE_INFINITY;
        double ratioMax = Double.NEGATIVE_INFINITY;
        double ratioSum = 0;
        long ratioCount = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] == 0f) {
                continue;
            }
            double d = Math.abs((double) o[i] - s[i]);
            diffSum += d;
            diffMax = Math.max(diffMax, d);
            diffCount++;
            if (!sequenceLevel) {
                ratioMin = Math.min(ratioMin, r[i]);
                ratioMax = Math.max(ratioMax, r[i]);
                ratioSum += r[i];
                ratioCount++;
            }
        }
        if (sequenceLevel) {
            for (float v : r) {
                ratioMin = Math.min(ratioMin, v);
                ratioMax = Math.max(ratioMax, v);
                ratioSum += v;
                ratioCount++;
            }
        }
        return new Totals(diffSum, diffCount, diffMax, ratioSum, ratioCount, ratioMin, ratioMax);
    }
}
