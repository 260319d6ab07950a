package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    /** Logits whose softmax at T = 1 is exactly 0.5, 0.3, 0.15, 0.05. */
    private static final float[] LOGITS = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15),
        (float) Math.log(0.05)};
    private final Sampler sampler = new Sampler();

    private int[] counts(SamplingParams p, int draws) {
        SplittableRandom rng = new SplittableRandom(42);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(LOGITS, 0, LOGITS.length, p, rng).tokenId()]++;
        }
        return counts;
    }

    private float logprobOfFirst(SamplingParams p) {
        // Any draw that yields token 0 reports the processed log-prob of token 0.
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < 1000; i++) {
            Sampler.Sample s = sampler.sample(LOGITS, 0, LOGITS.length, p, rng);
            if (s.tokenId() == 0) {
                return s.logprob();
            }
        }
        throw new AssertionError("token 0 never drawn");
    }

    @Test
    void greedyTakesTheLowestIdAmongEqualMaximaWithItsLogSoftmax() {
        float[] logits = {0f, 2f, 2f, 1f};
        Sampler.Sample s = sampler.sample(logits, 0, 4, SamplingParams.greedy(1), new SplittableRandom(0));
        assertEquals(1, s.tokenId());
        double lse = Math.log(1 + 2 * Math.exp(2) + Math.exp(1));
        assertEquals(2 - lse, s.logprob(), 1e-6);
    }

    /** A row of SmolLM2's vocabulary size plus a few, so that the SIMD loops have a scalar tail too. */
    private static float[] wideRow(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] row = new float[49_152 + 7];
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) (3 * rng.nextGaussian());
        }
        return row;
    }

    @Test
    void greedyOverAWideRowTakesTheLowestIdAmongEqualMaximaWhereverTheyLie() {
        float[] base = wideRow(11);
        // first maximum in the first lanes, in a middle vector, at an odd lane, and in the scalar tail
        int[][] ties = {{0, 40_000}, {16 * 1000 + 3, 16 * 1000 + 4}, {30_001, 49_150}, {49_153, 49_158}};
        for (int[] tie : ties) {
            float[] row = base.clone();
            row[tie[0]] = 20f;
            row[tie[1]] = 20f;
            Sampler.Sample s = sampler.sample(row, 0, row.length, SamplingParams.greedy(1), new SplittableRandom(0));
            assertEquals(tie[0], s.tokenId());
            assertEquals(TestEngines.logSoftmax(row, tie[0]), s.logprob(), 1e-6);
        }
    }

    @Test
    void greedyAndRawLogprobsOverAWideRowEqualTheDoubleLogSoftmax() {
        for (long seed = 1; seed <= 4; seed++) {
            float[] row = wideRow(seed);
            int best = 0;
            for (int i = 1; i < row.length; i++) {
                if (row[i] > row[best]) {
                    best = i;
                }
            }
            Sampler.Sample g = sampler.sample(row, 0, row.length, SamplingParams.greedy(1), new SplittableRandom(0));
            assertEquals(best, g.tokenId());
            assertEquals(TestEngines.logSoftmax(row, best), g.logprob(), 1e-6);
            SamplingParams raw = SamplingParams.defaults(1).withTemperature(0.7f)
                    .withLogprobsMode(SamplingParams.LogprobsMode.RAW);
            Sampler.Sample r = sampler.sample(row, 0, row.length, raw, new SplittableRandom(seed));
            assertEquals(TestEngines.logSoftmax(row, r.tokenId()), r.logprob(), 1e-6);
        }
    }

    @Test
    void greedyOverARowWithANaNStillReturnsATokenOfTheVocabulary() {
        float[] row = wideRow(5);
        row[100] = Float.NaN;
        Sampler.Sample s = sampler.sample(row, 0, row.length, SamplingParams.greedy(1), new SplittableRandom(0));
        assertTrue(s.tokenId() >= 0 && s.tokenId() < row.length);
    }

    @Test
    void readsTheRowAtItsOffsetInAFlatBatch() {
        float[] flat = {9f, 0f, 0f, 0f, 0f, 0f, 3f, 0f};
        assertEquals(2, sampler.sample(flat, 4, 4, SamplingParams.greedy(1), new SplittableRandom(0)).tokenId());
    }

    @Test
    void drawsFollowTheDistribution() {
        int[] c = counts(SamplingParams.defaults(1), 20000);
        double[] expected = {0.5, 0.3, 0.15, 0.05};
        for (int i = 0; i < 4; i++) {
            assertEquals(expected[i], c[i] / 20000.0, 0.015, "token " + i);
        }
        assertEquals(Math.log(0.5), logprobOfFirst(SamplingParams.defaults(1)), 1e-6);
    }

    @Test
    void topKKeepsTheKMostLikelyTokensRenormalised() {
        SamplingParams p = SamplingParams.defaults(1).withTopK(2);
        int[] c = counts(p, 2000);
        assertTrue(c[0] > 0 && c[1] > 0);
        assertEquals(0, c[2] + c[3]);
        assertEquals(Math.log(0.5 / 0.8), logprobOfFirst(p), 1e-6);
    }

    @Test
    void topPKeepsTokensWhoseHigherRankedMassIsBelowP() {
        SamplingParams p = SamplingParams.defaults(1).withTopP(0.7f);
        int[] c = counts(p, 2000);
        assertEquals(0, c[2] + c[3], "0.5 + 0.3 already reach 0.7");
        assertEquals(Math.log(0.5 / 0.8), logprobOfFirst(p), 1e-6);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheMostLikely() {
        SamplingParams p = SamplingParams.defaults(1).withMinP(0.2f);
        assertEquals(0, counts(p, 2000)[3], "0.05 < 0.2 * 0.5");
        assertEquals(Math.log(0.5 / 0.95), logprobOfFirst(p), 1e-6);
    }

    @Test
    void topPAppliesToTheDistributionLeftByTopK() {
        // After top-k 3 the third token's higher-ranked mass is 0.8 / 0.95 = 0.84 >= 0.82, so it goes; without top-k
        // it would be 0.8 < 0.82 and stay.
        SamplingParams p = SamplingParams.defaults(1).withTopK(3).withTopP(0.82f);
        assertEquals(0, counts(p, 2000)[2]);
        assertEquals(Math.log(0.5 / 0.8), logprobOfFirst(p), 1e-6);
        assertTrue(counts(SamplingParams.defaults(1).withTopP(0.82f), 2000)[2] > 0);
    }

    @Test
    void temperatureSharpensTheDistributionAndTheLogprobFollowsIt() {
        SamplingParams p = SamplingParams.defaults(1).withTemperature(0.5f);
        double z = 0.25 + 0.09 + 0.0225 + 0.0025;
        assertEquals(Math.log(0.25 / z), logprobOfFirst(p), 1e-6);
        SamplingParams raw = p.withLogprobsMode(SamplingParams.LogprobsMode.RAW);
        assertEquals(Math.log(0.5), logprobOfFirst(raw), 1e-6);
    }

    @Test
    void theSameSeedGivesTheSameDraws() {
        SamplingParams p = SamplingParams.defaults(1).withTemperature(1.3f);
        SplittableRandom a = new SplittableRandom(Sequence.seedFor(5, 2, 1));
        SplittableRandom b = new SplittableRandom(Sequence.seedFor(5, 2, 1));
        for (int i = 0; i < 100; i++) {
            assertEquals(sampler.sample(LOGITS, 0, 4, p, a).tokenId(), sampler.sample(LOGITS, 0, 4, p, b).tokenId());
        }
    }

    @Test
    void topPOverALargePeakedVocabularyKeepsExactlyTheNucleus() {
        int vocab = 5000;
        SplittableRandom rng = new SplittableRandom(17);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (5 * rng.nextGaussian());
        }
        float topP = 0.8f;
        // Reference: the full sort, in double, of softmax(logits / 0.8).
        double[] lp = new double[vocab];
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            lp[i] = logits[i] / 0.8;
            m = Math.max(m, lp[i]);
        }
        double z = 0;
        for (double v : lp) {
            z += Math.exp(v - m);
        }
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(lp[b], lp[a]));
        boolean[] kept = new boolean[vocab];
        double mass = 0;
        double keptMass = 0;
        for (int i : order) {
            if (mass < topP) {
                kept[i] = true;
                keptMass += Math.exp(lp[i] - m) / z;
            }
            mass += Math.exp(lp[i] - m) / z;
        }
        SamplingParams p = SamplingParams.defaults(1).withTemperature(0.8f).withTopP(topP);
        SplittableRandom draws = new SplittableRandom(4);
        for (int d = 0; d < 500; d++) {
            Sampler.Sample s = sampler.sample(logits, 0, vocab, p, draws);
            assertTrue(kept[s.tokenId()], "token " + s.tokenId() + " is outside the nucleus");
            assertEquals(lp[s.tokenId()] - m - Math.log(z) - Math.log(keptMass), s.logprob(), 1e-5);
        }
    }
}
