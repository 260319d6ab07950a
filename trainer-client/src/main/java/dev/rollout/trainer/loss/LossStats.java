package dev.rollout.trainer.loss;

import java.util.Map;

/**
 * The logged statistics of a loss, computed on the host from the step's (small) [B, T] tensors, the way TRL reduces
 * them: token-level values as a mean over the completion mask, sequence-level values ([B, 1]) as a mean over
 * sequences.
 */
final class LossStats {
    private LossStats() {
    }

    /** Mean of {@code values} over the mask ([B, T] values), or over sequences ([B] values); 0 when nothing counts. */
    static double maskedMean(float[] values, float[] mask, long width) {
        double sum = 0;
        double count = 0;
        if (values.length == mask.length) {
            for (int i = 0; i < mask.length; i++) {
                sum += (double) values[i] * mask[i];
                count += mask[i];
            }
        } else {
            for (float v : values) {
                sum += v;
            }
            count = values.length;
        }
        return count == 0 ? 0.0 : sum / count;
    }

    /**
     * TRL's clip statistics: a token is low-clipped when its ratio is below 1 − ε and its advantage negative,
     * high-clipped when above 1 + ε_high with a positive advantage (only then does the clip stop the gradient).
     * {@code *_mean} over the mask, {@code low_min} / {@code high_max} over the per-sequence means.
     */
    static void putClipRatios(Map<String, Double> stats, float[] ratio, float[] advantages, float[] mask, long width,
            double epsilonLow, double epsilonHigh) {
        int rows = advantages.length;
        boolean perSequence = ratio.length != mask.length;
        float[] low = new float[ratio.length];
        float[] high = new float[ratio.length];
        float[] region = new float[ratio.length];
        for (int i = 0; i < ratio.length; i++) {
            float a = advantages[perSequence ? i : (int) (i / width)];
            low[i] = ratio[i] < 1 - epsilonLow && a < 0 ? 1f : 0f;
            high[i] = ratio[i] > 1 + epsilonHigh && a > 0 ? 1f : 0f;
            region[i] = Math.max(low[i], high[i]);
        }
        stats.put("clip_ratio/low_mean", maskedMean(low, mask, width));
        stats.put("clip_ratio/high_mean", maskedMean(high, mask, width));
        stats.put("clip_ratio/region_mean", maskedMean(region, mask, width));
        double lowMin = Double.NaN;
        double highMax = Double.NaN;
        for (int b = 0; b < rows; b++) {
            double lowSeq;
            double highSeq;
            if (perSequence) {
                lowSeq = low[b];
                highSeq = high[b];
            } else {
                double l = 0;
                double h = 0;
                double n = 0;
                for (int t = 0; t < width; t++) {
                    int i = (int) (b * width + t);
                    l += low[i] * mask[i];
                    h += high[i] * mask[i];
                    n += mask[i];
                }
                if (n == 0) {
                    continue; // TRL's nanmin/nanmax skip sequences with no tokens
                }
                lowSeq = l / n;
                highSeq = h / n;
            }
            lowMin = Double.isNaN(lowMin) ? lowSeq : Math.min(lowMin, lowSeq);
            highMax = Double.isNaN(highMax) ? highSeq : Math.max(highMax, highSeq);
        }
        stats.put("clip_ratio/low_min", Double.isNaN(lowMin) ? 0.0 : lowMin);
        stats.put("clip_ratio/high_max", Double.isNaN(highMax) ? 0.0 : highMax);
    }

    /** TRL's {@code cispo_clip_ratio}: share of the active tokens whose weight is capped (r > ε_high, A > 0). */
    static double cispoClipRatio(float[] ratio, float[] advantages, float[] mask, long width, double epsilonHigh) {
        boolean perSequence = ratio.length != mask.length;
        float[] clipped = new float[mask.length];
        for (int i = 0; i < mask.length; i++) {
            int b = (int) (i / width);
            float r = ratio[perSequence ? b : i];
            clipped[i] = r > epsilonHigh && advantages[b] > 0 ? 1f : 0f;
        }
        return maskedMean(clipped, mask, width);
    }
}
