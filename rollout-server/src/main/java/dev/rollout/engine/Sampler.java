package dev.rollout.engine;

import dev.rollout.model.VectorMath;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Draws the next token from one row of logits, in Java over the row copied out of the forward (exps in SIMD lanes,
 * {@link VectorMath}, so a draw does not depend on whether the JIT has compiled this yet). Filters apply in
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

    private static final VectorSpecies<Float> LANES = VectorMath.LANES;
    /** Doubles of the same vector shape: a float vector's exps widen into two of them. */
    private static final VectorSpecies<Double> DOUBLES = VectorSpecies.of(double.class, LANES.vectorShape());
    private static final int BUCKETS = 64;
    private static final double INV_LN2 = 1 / Math.log(2);

    /** A sampled token and its log-prob. */
    record Sample(int tokenId, float logprob) {}

    private float[] x = new float[0]; // the scaled logits, then the unnormalised probabilities
    private float[] select = new float[0];
    private long[] order = new long[0];
    private final double[] bucketMass = new double[BUCKETS];
    private final double[] doubleLanes = new double[DOUBLES.length()];

    Sample sample(float[] logits, int offset, int vocab, SamplingParams params, SplittableRandom rng) {
        if (params.isGreedy()) {
            float m = max(logits, offset, vocab);
            int best = firstIndexOf(logits, offset, vocab, m);
            return new Sample(best, (float) (logits[offset + best] - logSumExp(logits, offset, vocab, m)));
        }
        float temperature = params.temperature();
        scaleLogits(logits, offset, vocab, temperature);
        if (params.topK() > 0 && params.topK() < vocab) {
            applyTopK(vocab, params.topK());
        }
        if (params.topP() < 1f) {
            applyTopP(vocab, params.topP());
        }
        if (params.minP() > 0f) {
            // p_i >= minP * p_max  <=>  x_i >= x_max + ln(minP): the ratio does not depend on renormalisation.
            double threshold = max(x, 0, vocab) + Math.log(params.minP());
            for (int i = 0; i < vocab; i++) {
                if (x[i] < threshold) {
                    x[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        float m = max(x, 0, vocab);
        double z = exponentiate(vocab, m);
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
        // The token's scaled logit again, the same float division as scaleLogits: x now holds probabilities.
        float scaled = temperature == 1f ? logits[offset + token] : logits[offset + token] / temperature;
        float logprob = params.logprobsMode() == SamplingParams.LogprobsMode.RAW
                ? (float) (logits[offset + token] - logSumExp(logits, offset, vocab, max(logits, offset, vocab)))
                : (float) ((scaled - m) - Math.log(z));
        return new Sample(token, logprob);
    }

    /** x = logits / T in fp32, the division the trainer makes before its log-softmax. */
    private void scaleLogits(float[] logits, int offset, int vocab, float temperature) {
        if (x.length < vocab) {
            x = new float[vocab];
        }
        if (temperature == 1f) {
            System.arraycopy(logits, offset, x, 0, vocab);
            return;
        }
        int i = 0;
        for (int bound = LANES.loopBound(vocab); i < bound; i += LANES.length()) {
            FloatVector.fromArray(LANES, logits, offset + i).div(temperature).intoArray(x, i);
        }
        for (; i < vocab; i++) {
            x[i] = logits[offset + i] / temperature;
        }
    }

    /** Replaces each x_i by e^(x_i - m), 0 for filtered tokens, and returns their sum, taken in order in double. */
    private double exponentiate(int vocab, float m) {
        exps(x, m, x, vocab);
        double z = 0;
        for (int i = 0; i < vocab; i++) {
            z += x[i];
        }
        return z;
    }

    /** into_i = e^(from_i - m) for i < n, in SIMD lanes: a vocabulary's worth of exps is the sampler's largest cost. */
    private static void exps(float[] from, float m, float[] into, int n) {
        int i = 0;
        for (int bound = LANES.loopBound(n); i < bound; i += LANES.length()) {
            VectorMath.expNonPositive(FloatVector.fromArray(LANES, from, i).sub(m)).intoArray(into, i);
        }
        for (; i < n; i++) {
            into[i] = VectorMath.expNonPositive(from[i] - m);
        }
    }

    /** Keeps the tokens whose scaled logit is at least the k-th largest. */
    private void applyTopK(int vocab, int k) {
        if (select.length < vocab) {
            select = new float[vocab];
        }
        System.arraycopy(x, 0, select, 0, vocab);
        float kth = kthLargest(select, vocab, k);
        for (int i = 0; i < vocab; i++) {
            if (x[i] < kth) {
                x[i] = Float.NEGATIVE_INFINITY;
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
    private void applyTopP(int vocab, float p) {
        if (order.length < vocab) {
            order = new long[vocab];
        }
        if (select.length < vocab) {
            select = new float[vocab];
        }
        float m = max(x, 0, vocab);
        exps(x, m, select, vocab);
        double z = 0;
        Arrays.fill(bucketMass, 0);
        for (int i = 0; i < vocab; i++) {
            if (x[i] != Float.NEGATIVE_INFINITY) {
                z += select[i];
                bucketMass[bucket(x[i] - m)] += select[i];
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
            if (x[i] == Float.NEGATIVE_INFINITY) {
                continue;
            }
            if (bucket(x[i] - m) > lastBucket) {
                x[i] = Float.NEGATIVE_INFINITY;
            } else {
                // Sort key: the scaled logit's order-preserving bits, descending; ties broken by lower id.
                order[n++] = ((long) ~sortableBits(x[i]) << 32) | i;
            }
        }
        Arrays.sort(order, 0, n);
        double cumulative = 0;
        int keep = 0;
        while (keep < n && cumulative < p * z) {
            cumulative += select[(int) order[keep]];
            keep++;
        }
        for (int j = keep; j < n; j++) {
            x[(int) order[j]] = Float.NEGATIVE_INFINITY;
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

    private static float kthLargest(float[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        int target = k - 1;
        while (lo < hi) {
            float pivot = a[(lo + hi) >>> 1];
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
                    float t = a[i];
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

    /** The largest of {@code a[from, from + n)}. */
    private static float max(float[] a, int from, int n) {
        FloatVector maxes = FloatVector.broadcast(LANES, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = LANES.loopBound(n); i < bound; i += LANES.length()) {
            maxes = maxes.max(FloatVector.fromArray(LANES, a, from + i));
        }
        float m = maxes.reduceLanes(VectorOperators.MAX); // exact in any order
        for (; i < n; i++) {
            m = Math.max(m, a[from + i]);
        }
        return m;
    }

    /**
     * The offset in {@code a[from, from + n)} of the first element equal to {@code value}, its maximum: the lowest id
     * among equal maxima. A row with a NaN has no element equal to its maximum (NaN): it falls back to a scalar scan
     * for the first element greater than every one before it.
     */
    private static int firstIndexOf(float[] a, int from, int n, float value) {
        int i = 0;
        for (int bound = LANES.loopBound(n); i < bound; i += LANES.length()) {
            int hit = FloatVector.fromArray(LANES, a, from + i).eq(value).firstTrue();
            if (hit < LANES.length()) {
                return i + hit;
            }
        }
        for (; i < n; i++) {
            if (a[from + i] == value) {
                return i;
            }
        }
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (a[from + j] > a[from + best]) {
                best = j;
            }
        }
        return best;
    }

    /**
     * log Σ e^(logits) over one row whose largest logit is {@code m}, the normaliser of the raw (T = 1) log-probs. The
     * exps are summed in double lanes and the lanes added in order at the end: a 49,152-token row is a few dozen
     * microseconds, where adding each vector's lanes one by one into the total was a chain of scalar adds per 16 exps.
     */
    private double logSumExp(float[] logits, int offset, int vocab, float m) {
        DoubleVector low = DoubleVector.zero(DOUBLES);
        DoubleVector high = DoubleVector.zero(DOUBLES);
        int i = 0;
        for (int bound = LANES.loopBound(vocab); i < bound; i += LANES.length()) {
            FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(LANES, logits, offset + i).sub(m));
            low = low.add(e.convertShape(VectorOperators.F2D, DOUBLES, 0));
            high = high.add(e.convertShape(VectorOperators.F2D, DOUBLES, 1));
        }
        low.add(high).intoArray(doubleLanes, 0);
        double s = 0;
        for (double lane : doubleLanes) {
            s += lane;
        }
        for (; i < vocab; i++) {
            s += VectorMath.expNonPositive(logits[offset + i] - m);
        }
        return m + Math.log(s);
    }
}
