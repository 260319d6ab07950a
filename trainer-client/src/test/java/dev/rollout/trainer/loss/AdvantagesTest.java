package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.trainer.config.ScaleRewards;
import org.junit.jupiter.api.Test;

class AdvantagesTest {
    // two groups of three
    static final double[] R = {1.0, 0.0, 0.5, 2.0, 2.0, 2.0};

    @Test
    void grpoGroupScalingDividesByTheGroupsBesselStdPlusEpsilon() {
        double mean = 0.5;
        double std = Math.sqrt(((0.5 * 0.5) + (0.5 * 0.5) + 0) / 2); // Bessel: divide by n − 1
        double[] expected = {(1.0 - mean) / (std + 1e-4), (0.0 - mean) / (std + 1e-4), 0.0, 0.0, 0.0, 0.0};
        Advantages a = Advantages.grpo(R, 3, ScaleRewards.GROUP);
        assertArrayEquals(expected, a.values(), 1e-12);
        assertEquals(0.5, a.fractionZeroStdGroups(), 1e-12, "the second group's rewards are all equal");
    }

    @Test
    void grpoBatchScalingDividesByTheBatchStd() {
        double mean = (1.0 + 0.0 + 0.5 + 6.0) / 6;
        double squares = 0;
        for (double r : R) {
            squares += (r - mean) * (r - mean);
        }
        double std = Math.sqrt(squares / 5);
        double[] expected = {0.5 / (std + 1e-4), -0.5 / (std + 1e-4), 0.0, 0.0, 0.0, 0.0};
        assertArrayEquals(expected, Advantages.grpo(R, 3, ScaleRewards.BATCH).values(), 1e-12);
    }

    @Test
    void grpoWithoutScalingOnlySubtractsTheGroupMean() {
        assertArrayEquals(new double[] {0.5, -0.5, 0.0, 0.0, 0.0, 0.0},
                Advantages.grpo(R, 3, ScaleRewards.NONE).values(), 1e-12);
    }

    @Test
    void unscorableRewardsAreLeftOutOfTheGroupStatisticsAndGetZeroAdvantage() {
        double[] rewards = {3.0, Double.NaN, 1.0, 2.0};
        // the group is {3, 1, 2} without the NaN: mean 2, Bessel std sqrt((1 + 1 + 0) / 2) = 1
        double[] expected = {1 / (1 + 1e-4), 0.0, -1 / (1 + 1e-4), 0.0};
        assertArrayEquals(expected, Advantages.grpo(rewards, 4, ScaleRewards.GROUP).values(), 1e-12);
    }

    @Test
    void rewardsThatDoNotFillWholeGroupsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Advantages.grpo(new double[5], 2, ScaleRewards.GROUP));
    }

    @Test
    void rlooBaselineIsTheMeanOfTheOtherCompletions() {
        double[] rewards = {1.0, 0.0, 0.5, 4.0, 2.0, 0.0};
        double[] expected = {1.0 - (0.0 + 0.5) / 2, 0.0 - (1.0 + 0.5) / 2, 0.5 - (1.0 + 0.0) / 2,
            4.0 - (2.0 + 0.0) / 2, 2.0 - (4.0 + 0.0) / 2, 0.0 - (4.0 + 2.0) / 2};
        assertArrayEquals(expected, Advantages.rloo(rewards, null, 0.0, 3, false).values(), 1e-12);
    }

    @Test
    void rlooFoldsTheKlPenaltyIntoTheRewardBeforeTheBaseline() {
        double[] rewards = {1.0, 0.0};
        double[] kl = {2.0, -1.0};
        double beta = 0.05;
        double r0 = 1.0 - beta * 2.0;
        double r1 = 0.0 - beta * -1.0;
        assertArrayEquals(new double[] {r0 - r1, r1 - r0}, Advantages.rloo(rewards, kl, beta, 2, false).values(), 1e-12);
    }

    @Test
    void rlooNormalizationGivesMeanZeroAndUnitStd() {
        double[] rewards = {1.0, 0.0, 0.5, 4.0};
        double[] raw = {1.0 - 0.0, 0.0 - 1.0, 0.5 - 4.0, 4.0 - 0.5};
        double mean = (raw[0] + raw[1] + raw[2] + raw[3]) / 4;
        double squares = 0;
        for (double v : raw) {
            squares += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(squares / 3);
        double[] expected = new double[4];
        for (int i = 0; i < 4; i++) {
            expected[i] = (raw[i] - mean) / (std + 1e-4);
        }
        assertArrayEquals(expected, Advantages.rloo(rewards, null, 0.0, 2, true).values(), 1e-12);
    }

    @Test
    void rlooLeavesUnscorableCompletionsOutOfTheBaseline() {
        double[] rewards = {1.0, Double.NaN, 3.0, 2.0, Double.NaN};
        // group {1, NaN, 3}: baselines over the other scorable one; group {2, NaN}: a lone scorable completion has none
        double[] expected = {1.0 - 3.0, 0.0, 3.0 - 1.0};
        double[] a = Advantages.rloo(new double[] {1.0, Double.NaN, 3.0}, null, 0, 3, false).values();
        assertArrayEquals(expected, a, 1e-12);
        assertArrayEquals(new double[] {0.0, 0.0},
                Advantages.rloo(new double[] {rewards[3], rewards[4]}, null, 0, 2, false).values(), 1e-12);
    }

    @Test
    void sequenceKlSumsTheMaskedLogRatioToTheReference() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] old = {-1.0f, -2.0f, -0.5f, -1.0f};
            float[] ref = {-1.5f, -1.0f, -0.5f, -9.0f};
            float[] mask = {1, 1, 1, 0};
            double[] kl = Advantages.sequenceKl(m.create(old, new Shape(2, 2)), m.create(ref, new Shape(2, 2)),
                    m.create(mask, new Shape(2, 2)));
            assertArrayEquals(new double[] {0.5 + -1.0, 0.0}, kl, 1e-6);
        }
    }
}
