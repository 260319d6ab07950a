package dev.rollout.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws the next token from one row of logits, in plain Java over the row copied out of the forward. Filters apply in
 * the order temperature, top-k, top-p, min-p; the draw is one uniform number from the sequence's own RNG walked
 * through the kept tokens in id order, so each token costs exactly one draw whatever the distribution.
 *
 * <p>Log-probs. {@code PROCESSED}: {@code log_softmax(logits / T)} restricted to the kept tokens and renormalised over
 * them, the distribution the token was actually drawn from; without filters this is exactly what TRL's trainer computes
 * (it divides the logits by its temperature before {@code log_softmax}). {@code RAW}: {@code log_softmax(logits)}.
 * Greedy (T = 0) has a degenerate processed distribution (log-prob 0 carries no information), so in both modes it
 * returns {@code log_softmax(logits)}, the T = 1 value, which is what a trainer run at temperature 1 recomputes.
 *
 * <p>Ties: top-k keeps every token whose logit equals the k-th largest; greedy takes the lowest id among equal maxima.
 * One instance per engine thread (it keeps scratch buffers).
 */
final class Sampler {

    private static final int BUCKETS = 64;
    private static final double INV_LN2 = 1 / Math.log(2);

    /** A sampled token and its log-prob. */
    record Sample(int tokenId, float logprob) {}

    private double[] scaled = new double[0];
    private double[] select = new double[0];
    private long[] order = new long[0];
    private final double[] bucketMass = new double[BUCKETS];

    Sample sample(float[] logits, int offset, int vocab, SamplingParams params, SplittableRandom rng) {
        if (params.isGreedy()) {
            int best = offset;
            for (int i = offset + 1; i < offset + vocab; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return new Sample(best - offset, (float) (logits[best] - rawLogSumExp(logits, offset, vocab)));
        }
        double[] x = scaledLogits(logits, offset, vocab, params.temperature());
        if (params.topK() > 0 && params.topK() < vocab) {
            applyTopK(x, vocab, params.topK());
        }
        if (params.topP() < 1f) {
            applyTopP(x, vocab, params.topP());
        }
        if (params.minP() > 0f) {
            // p_i >= minP * p_max  <=>  x_i >= x_max + ln(minP): the ratio does not depend on renormalisation.
            double threshold = max(x, vocab) + Math.log(params.minP());
            for (int i = 0; i < vocab; i++) {
                if (x[i] < threshold) {
                    x[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        // One exp per kept token, kept for the draw: x becomes the unnormalised probabilities (0 for filtered tokens).
        double m = max(x, vocab);
        double z = 0;
        for (int i = 0; i < vocab; i++) {
            double e = x[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(x[i] - m);
            x[i] = e;
            z += e;
        }
        double u = rng.nextDouble() * z;
        int token = -1;
        double cumulative = 0;
        for (int i = 0; i < vocab; i++) {
            if (x[i] == 0) {
                continue;
            }
            token = i;
            cumulative += x[i];
            if (cumulative > u) {
                break;
            }
        }
        float logprob = params.logprobsMode() == SamplingParams.LogprobsMode.RAW
                ? (float) (logits[offset + token] - rawLogSumExp(logits, offset, vocab))
                : (float) Math.log(x[token] / z);
        return new Sample(token, logprob);
    }

    private double[] scaledLogits(float[] logits, int offset, int vocab, float temperature) {
        if (scaled.length < vocab) {
            scaled = new double[vocab];
        }
        double t = temperature;
        for (int i = 0; i < vocab; i++) {
            scaled[i] = logits[offset + i] / t;
        }
        return scaled;
    }

    /** Keeps the tokens whose scaled logit is at least the k-th largest. */
    private void applyTopK(double[] x, int vocab, int k) {
        if (select.length < vocab) {
            select = new double[vocab];
        }
        System.arraycopy(x, 0, select, 0, vocab);
        double kth = kthLargest(select, vocab, k);
        for (int i = 0; i < vocab; i++) {
            if (x[i] < kth) {
                x[i] = Double.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Keeps the smallest set of most probable tokens whose probability (over the tokens still kept) reaches {@code p}:
     * a token is kept when the tokens ranked above it hold less than {@code p}. The most probable token is always kept.
     *
     * <p>Only the candidates are sorted: tokens are first bucketed by {@code floor(log2(p_max / p_i))}; every token of
     * a lower bucket outranks every token of a higher one, so the buckets after the one where the mass reaches
     * {@code p} are dropped unsorted. A peaked distribution then sorts a handful of tokens instead of the vocabulary.
     */
    private void applyTopP(double[] x, int vocab, float p) {
        if (order.length < vocab) {
            order = new long[vocab];
        }
        double m = max(x, vocab);
        double z = 0;
        Arrays.fill(bucketMass, 0);
        for (int i = 0; i < vocab; i++) {
            if (x[i] != Double.NEGATIVE_INFINITY) {
                double e = Math.exp(x[i] - m);
                z += e;
                bucketMass[bucket(x[i] - m)] += e;
            }
        }
        // A hair above p * z, so that summing in another order below cannot need a token of a dropped bucket.
        double target = p * z * (1 + 1e-9);
        int lastBucket = 0;
        for (double mass = bucketMass[0]; mass < target && lastBucket < BUCKETS - 1; ) {
            mass += bucketMass[++lastBucket];
        }
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            if (x[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            if (bucket(x[i] - m) > lastBucket) {
                x[i] = Double.NEGATIVE_INFINITY;
            } else {
                // Sort key: the scaled logit as a float, order-preserving bits, descending; ties broken by lower id.
                order[n++] = ((long) ~sortableBits((float) x[i]) << 32) | i;
            }
        }
        Arrays.sort(order, 0, n);
        double cumulative = 0;
        int keep = 0;
        while (keep < n && cumulative < p * z) {
            cumulative += Math.exp(x[(int) order[keep]] - m);
            keep++;
        }
        for (int j = keep; j < n; j++) {
            x[(int) order[j]] = Double.NEGATIVE_INFINITY;
        }
    }

    /** {@code floor(log2(p_max / p_i))} from {@code d = x_i - x_max <= 0}, capped. */
    private static int bucket(double d) {
        return (int) Math.min(BUCKETS - 1, -d * INV_LN2);
    }

    /** Maps a float to an int whose signed order is the float's order. */
    private static int sortableBits(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : bits ^ 0x7fffffff;
    }

    private static double kthLargest(double[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        int target = k - 1;
        while (lo < hi) {
            double pivot = a[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] > pivot) {
                    i++;
                }
                while (a[j] < pivot) {
                    j--;
                }
                if (i <= j) {
                    double t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return a[target];
            }
        }
        return a[target];
    }

    private static double max(double[] x, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    private static double rawLogSumExp(float[] logits, int offset, int vocab) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + vocab; i++) {
            m = Math.max(m, logits[i]);
        }
        double s = 0;
        for (int i = offset; i < offset + vocab; i++) {
            s += Math.exp(logits[i] - m);
        }
        return m + Math.log(s);
    }
}
