package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.config.ScaleRewards;

/**
 * Advantages from the rewards of a generation batch laid out in groups: completions {@code [g·G, (g+1)·G)} answer
 * prompt g. A NaN reward marks a completion no reward function could score: it is left out of every mean and std
 * (TRL's nanmean/nanstd, std with Bessel's correction) and its advantage is 0. Computed in double precision on the
 * host: there are only B numbers and no gradient flows through them.
 *
 * @param values               one advantage per completion
 * @param fractionZeroStdGroups share of completions whose group (or batch, for scale_rewards = batch) had reward std 0:
 *                             TRL's {@code frac_reward_zero_std}
 */
public record Advantages(double[] values, double fractionZeroStdGroups) {
    /** Added to the std before dividing, as TRL does, so a group of equal rewards gets advantage 0, not NaN. */
    public static final double STD_EPSILON = 1e-4;

    /** GRPO: A_i = R_i − mean_group(R), divided by std_group(R) + 1e-4, std_batch(R) + 1e-4, or nothing. */
    public static Advantages grpo(double[] rewards, int groupSize, ScaleRewards scale) {
        checkGroups(rewards.length, groupSize);
        double batchStd = nanStd(rewards, 0, rewards.length);
        double[] out = new double[rewards.length];
        int zeroStd = 0;
        for (int start = 0; start < rewards.length; start += groupSize) {
            double mean = nanMean(rewards, start, start + groupSize);
            double std = scale == ScaleRewards.BATCH ? batchStd : nanStd(rewards, start, start + groupSize);
            for (int i = start; i < start + groupSize; i++) {
                double a = rewards[i] - mean;
                if (scale != ScaleRewards.NONE) {
                    a /= std + STD_EPSILON;
                }
                out[i] = Double.isNaN(a) ? 0.0 : a;
                if (Math.abs(std) <= 1e-8) { // torch.isclose(std, 0) with its default atol
                    zeroStd++;
                }
            }
        }
        return new Advantages(out, (double) zeroStd / rewards.length);
    }

    /**
     * RLOO: with β ≠ 0 the KL penalty is folded into the reward first, r_i = R_i − β·KL_i; then the leave-one-out
     * baseline A_i = r_i − (Σ_j r_j − r_i)/(G' − 1) over the G' scorable completions of the group; optionally the
     * batch's advantages are rescaled to mean 0, std 1 (std + 1e-4).
     *
     * @param sequenceKl KL_i = Σ_t (old_t − ref_t) over each completion's mask (see {@link #sequenceKl}), or null when β = 0
     */
    public static Advantages rloo(double[] rewards, double[] sequenceKl, double beta, int groupSize, boolean normalize) {
        checkGroups(rewards.length, groupSize);
        double[] r = rewards.clone();
        if (beta != 0.0) {
            if (sequenceKl == null || sequenceKl.length != r.length) {
                throw new IllegalArgumentException("beta = " + beta + " needs one KL value per completion");
            }
            for (int i = 0; i < r.length; i++) {
                r[i] -= beta * sequenceKl[i];
            }
        }
        double[] out = new double[r.length];
        int zeroStd = 0;
        for (int start = 0; start < r.length; start += groupSize) {
            double sum = 0;
            int scorable = 0;
            for (int i = start; i < start + groupSize; i++) {
                if (!Double.isNaN(r[i])) {
                    sum += r[i];
                    scorable++;
                }
            }
            double std = nanStd(r, start, start + groupSize);
            for (int i = start; i < start + groupSize; i++) {
                // a lone scorable completion has no baseline: 0/0 = NaN, zeroed below as TRL does
                out[i] = r[i] - (sum - r[i]) / (scorable - 1);
                if (Math.abs(std) <= 1e-8) {
                    zeroStd++;
                }
            }
        }
        if (normalize) {
            double mean = nanMean(out, 0, out.length);
            double std = nanStd(out, 0, out.length);
            for (int i = 0; i < out.length; i++) {
                out[i] = (out[i] - mean) / (std + STD_EPSILON);
            }
        }
        for (int i = 0; i < out.length; i++) {
            if (Double.isNaN(out[i])) {
                out[i] = 0.0;
            }
        }
        return new Advantages(out, (double) zeroStd / r.length);
    }

    /**
     * GRPO with {@code multi_objective_aggregation: normalize_then_sum} (GDPO): each function's rewards are normalised
     * within their group, {@code (r_k − mean_group) / (std_group + 1e-4)}, summed with the weights (NaN terms left
     * out; NaN when every function failed), and the sums normalised over the batch, {@code (s − mean) / (std + 1e-4)}.
     * {@code scale_rewards} does not apply; {@code frac_reward_zero_std} is 1 or 0 by the batch std, as in TRL.
     *
     * @param perFunction [function][completion], NaN where a function returned null
     */
    public static Advantages grpoNormalizeThenSum(double[][] perFunction, double[] weights, int groupSize) {
        int count = perFunction[0].length;
        checkGroups(count, groupSize);
        double[] sums = new double[count];
        boolean[] scored = new boolean[count];
        for (int k = 0; k < perFunction.length; k++) {
            double[] r = perFunction[k];
            for (int start = 0; start < count; start += groupSize) {
                double mean = nanMean(r, start, start + groupSize);
                double std = nanStd(r, start, start + groupSize);
                for (int i = start; i < start + groupSize; i++) {
                    double normalised = (r[i] - mean) / (std + STD_EPSILON);
                    if (!Double.isNaN(r[i])) {
                        scored[i] = true;
                    }
                    if (!Double.isNaN(normalised)) {
                        sums[i] += normalised * weights[k];
                    }
                }
            }
        }
        for (int i = 0; i < count; i++) {
            if (!scored[i]) {
                sums[i] = Double.NaN;
            }
        }
        double mean = nanMean(sums, 0, count);
        double std = nanStd(sums, 0, count);
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            double a = (sums[i] - mean) / (std + STD_EPSILON);
            out[i] = Double.isNaN(a) ? 0.0 : a;
        }
        return new Advantages(out, Math.abs(std) <= 1e-8 ? 1.0 : 0.0);
    }

    /** RLOO's {@code reward_clip_range}: each reward clamped into [min, max]; NaN stays NaN. */
    public static double[] clip(double[] rewards, double min, double max) {
        double[] out = new double[rewards.length];
        for (int i = 0; i < rewards.length; i++) {
            out[i] = Double.isNaN(rewards[i]) ? Double.NaN : Math.max(min, Math.min(max, rewards[i]));
        }
        return out;
    }

    /** RLOO's per-completion KL estimate Σ_t (old_t − ref_t)·m_t (first order, may be negative, as in TRL). */
    public static double[] sequenceKl(NDArray oldLogProbs, NDArray refLogProbs, NDArray mask) {
        float[] old = oldLogProbs.toFloatArray();
        float[] ref = refLogProbs.toFloatArray();
        float[] m = mask.toFloatArray();
        int rows = (int) mask.getShape().get(0);
        int width = (int) mask.getShape().get(1);
        double[] kl = new double[rows];
        for (int i = 0; i < m.length; i++) {
            kl[i / width] += ((double) old[i] - ref[i]) * m[i];
        }
        return kl;
    }

    /** Mean of the non-NaN values in [from, to); NaN when there are none. */
    public static double nanMean(double[] x, int from, int to) {
        double sum = 0;
        int n = 0;
        for (int i = from; i < to; i++) {
            if (!Double.isNaN(x[i])) {
                sum += x[i];
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Sample std (Bessel's correction) of the non-NaN values in [from, to); NaN with fewer than two. */
    public static double nanStd(double[] x, int from, int to) {
        double mean = nanMean(x, from, to);
        double squares = 0;
        int n = 0;
        for (int i = from; i < to; i++) {
            if (!Double.isNaN(x[i])) {
                squares += (x[i] - mean) * (x[i] - mean);
                n++;
            }
        }
        return n < 2 ? Double.NaN : Math.sqrt(squares / (n - 1));
    }

    private static void checkGroups(int count, int groupSize) {
        if (groupSize < 1 || count % groupSize != 0) {
            throw new IllegalArgumentException(count + " rewards do not split into groups of " + groupSize);
        }
    }
}
