package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** TRL's normalize_then_sum aggregation (GDPO) and RLOO's reward_clip_range, written out by hand. */
class MultiObjectiveAdvantagesTest {

    private static double[] normalisedInGroups(double[] r, int g) {
        double[] out = new double[r.length];
        for (int start = 0; start < r.length; start += g) {
            double mean = Advantages.nanMean(r, start, start + g);
            double std = Advantages.nanStd(r, start, start + g);
            for (int i = start; i < start + g; i++) {
                out[i] = (r[i] - mean) / (std + 1e-4);
            }
        }
        return out;
    }

    @Test
    void normalizeThenSumNormalisesEachFunctionInItsGroupThenTheWeightedSumOverTheBatch() {
        double[] accuracy = {1, 0, 0, 0};
        double[] format = {1, 1, 0, 1};
        double[] weights = {1.0, 0.5};
        double[] a = normalisedInGroups(accuracy, 2); // group 2 has std 0: its accuracy terms are 0
        double[] f = normalisedInGroups(format, 2);
        double[] sums = new double[4];
        for (int i = 0; i < 4; i++) {
            sums[i] = a[i] * weights[0] + f[i] * weights[1];
        }
        double mean = Advantages.nanMean(sums, 0, 4);
        double std = Advantages.nanStd(sums, 0, 4);
        double[] expected = new double[4];
        for (int i = 0; i < 4; i++) {
            expected[i] = (sums[i] - mean) / (std + 1e-4);
        }
        Advantages result = Advantages.grpoNormalizeThenSum(new double[][] {accuracy, format}, weights, 2);
        assertArrayEquals(expected, result.values(), 1e-12);
        assertEquals(0.0, result.fractionZeroStdGroups(), "the batch std of the sums is not 0");
    }

    @Test
    void normalizeThenSumGivesAnUnscorableCompletionAdvantageZeroAndLeavesItOutOfTheBatchMean() {
        double nan = Double.NaN;
        double[] only = {1, nan, 0, 1};
        Advantages result = Advantages.grpoNormalizeThenSum(new double[][] {only}, new double[] {1.0}, 2);
        // group 1 has one scorable completion: its std is NaN, so its normalised term is left out (a sum of 0)
        double[] g = normalisedInGroups(new double[] {nan, nan, 0, 1}, 2);
        double[] sums = {0, nan, g[2], g[3]};
        double mean = Advantages.nanMean(sums, 0, 4);
        double std = Advantages.nanStd(sums, 0, 4);
        assertArrayEquals(new double[] {(0 - mean) / (std + 1e-4), 0, (g[2] - mean) / (std + 1e-4),
                (g[3] - mean) / (std + 1e-4)}, result.values(), 1e-12);
    }

    @Test
    void equalSumsCountAsAZeroStdBatch() {
        Advantages result = Advantages.grpoNormalizeThenSum(new double[][] {{1, 1, 0, 0}}, new double[] {1.0}, 2);
        assertArrayEquals(new double[4], result.values(), 1e-12);
        assertEquals(1.0, result.fractionZeroStdGroups());
    }

    @Test
    void rewardClipRangeClampsEachRewardAndKeepsNan() {
        assertArrayEquals(new double[] {-1, 0.5, 2, Double.NaN},
                Advantages.clip(new double[] {-3, 0.5, 7, Double.NaN}, -1, 2), 0);
    }
}
