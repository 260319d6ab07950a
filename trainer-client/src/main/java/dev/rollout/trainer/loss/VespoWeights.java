package dev.rollout.trainer.loss;

/**
 * VESPO's per-sequence gamma weight φ(w) = e^λ · w^k · e^(−λw) (so φ(1) = 1) of the sequence importance weight
 * {@code w = exp(Σ_t clamp(logp_t − old_t, ±20)·m_t + Σ_t clamp(log ρ_t, log 1e-8, 20))}, where ρ is the token-level
 * sampler correction when it is on; k and λ are {@code vespo_k_pos}/{@code vespo_lambda_pos} for advantages ≥ 0,
 * the {@code _neg} pair otherwise. Computed in log space on the host, as TRL's {@code get_gamma_weights}; it only
 * scales the gradient.
 */
final class VespoWeights {
    private static final double LOG_MIN = Math.log(1e-8);

    /** The four VESPO constants, TRL's defaults k_pos 2, λ_pos 3, k_neg 3, λ_neg 2. */
    record Shape(double kPos, double lambdaPos, double kNeg, double lambdaNeg) {
        static final Shape TRL_DEFAULT = new Shape(2.0, 3.0, 3.0, 2.0);
    }

    private VespoWeights() {
    }

    /**
     * @param logRatio      [B·T] logp − old
     * @param samplingRatio [B·T] token-level sampler ratio, or null
     * @return [B] φ per sequence; 0 where it is not finite
     */
    static float[] phi(float[] logRatio, float[] samplingRatio, float[] mask, float[] advantages, long width, Shape s) {
        float[] out = new float[advantages.length];
        for (int b = 0; b < advantages.length; b++) {
            double logW = 0;
            for (int t = 0; t < width; t++) {
                int i = (int) (b * width + t);
                logW += clamp(logRatio[i], -20, 20) * mask[i];
                if (samplingRatio != null) {
                    logW += clamp(Math.log(samplingRatio[i]), LOG_MIN, 20);
                }
            }
            logW = clamp(logW, LOG_MIN, 20);
            boolean nonNegative = advantages[b] >= 0;
            double k = nonNegative ? s.kPos() : s.kNeg();
            double lambda = Math.max(nonNegative ? s.lambdaPos() : s.lambdaNeg(), 1e-4);
            double phi = Math.exp(lambda + k * logW - lambda * Math.exp(logW));
            out[b] = Double.isFinite(phi) ? (float) phi : 0f;
        }
        return out;
    }

    private static double clamp(double x, double low, double high) {
        return Math.max(low, Math.min(high, x));
    }
}
