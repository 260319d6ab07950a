package dev.rollout.trainer.loss;

import java.util.Arrays;

/**
 * The token and sequence masks TRL multiplies into the per-token loss, computed on the host from detached values (no
 * gradient flows through a mask).
 */
final class LossMasks {
    private LossMasks() {
    }

    /**
     * {@code top_entropy_quantile} ρ (Beyond the 80/20 Rule): 1 for the active tokens whose entropy is at least the
     * (1 − ρ) quantile of the micro-batch's active entropies (torch.quantile, linear interpolation), else 0.
     *
     * @return [B·T] of 0 and 1; all 0 when no token is active
     */
    static float[] highEntropy(float[] entropy, float[] mask, double keepQuantile) {
        int active = 0;
        for (float m : mask) {
            active += m != 0f ? 1 : 0;
        }
        float[] out = new float[mask.length];
        if (active == 0) {
            return out;
        }
        double[] values = new double[active];
        int at = 0;
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0f) {
                values[at++] = entropy[i];
            }
        }
        double threshold = quantile(values, 1 - keepQuantile);
        for (int i = 0; i < mask.length; i++) {
            out[i] = mask[i] != 0f && (double) entropy[i] * mask[i] >= threshold ? 1f : 0f;
        }
        return out;
    }

    /** torch.quantile's default ("linear") of unsorted values, q in [0, 1]. */
    static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double position = q * (sorted.length - 1);
        int low = (int) Math.floor(position);
        int high = (int) Math.ceil(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /**
     * {@code off_policy_mask_threshold} δ (DeepSeek-V3.2's off-policy sequence masking): a sequence is dropped when its
     * advantage is negative and its mean KL from the sampler, {@code Σ_t (sampling_t − logp_t)·m_t / max(Σ_t m_t, 1)},
     * exceeds δ.
     *
     * @return [B] 1 to keep, 0 to drop
     */
    static float[] offPolicy(float[] logProbs, float[] samplingLogProbs, float[] mask, float[] advantages, long width,
            double threshold) {
        float[] keep = new float[advantages.length];
        for (int b = 0; b < advantages.length; b++) {
            double kl = 0;
            double tokens = 0;
            for (int t = 0; t < width; t++) {
                int i = (int) (b * width + t);
                kl += ((double) samplingLogProbs[i] - logProbs[i]) * mask[i];
                tokens += mask[i];
            }
            double meanKl = kl / Math.max(tokens, 1.0);
            keep[b] = advantages[b] >= 0 || meanKl <= threshold ? 1f : 0f;
        }
        return keep;
    }
}
