package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.config.SamplingCorrectionMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * In async mode the server's log-probs come from the behaviour policy (weights up to max_staleness versions old) and
 * the trainer's "old" log-probs from the proximal policy (the weights at training time). The clipped loss times the
 * sampling correction is then AReaL's decoupled PPO objective (Fu et al. 2025, eq. 5):
 * J(θ) = E_behav[ π_prox/π_behav · min(r·A, clip(r, 1 − ε, 1 + ε)·A) ], r = π_θ/π_prox, with AReaL's cap on the
 * behaviour weight (tokens above it leave the loss). Every expected value here is that formula in plain doubles.
 */
class DecoupledPpoObjectiveTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    // B = 2 completions, T = 3. Row 0 was sampled three versions ago: its tokens grew likelier since (prox > behav).
    private static final double[][] BEHAV = {{-2.0, -1.6, -3.0}, {-0.7, -1.0, -0.9}};
    private static final double[][] PROX = {{-1.0, -1.5, -1.2}, {-0.6, -1.1, -0.9}};
    private static final double[][] THETA = {{-0.9, -1.7, -1.1}, {-0.5, -1.5, -0.9}};
    private static final double[] ADV = {0.7, -0.4};
    private static final double[][] MASK = {{1, 1, 1}, {1, 1, 0}};
    private static final double EPS = 0.2;
    private static final double CAP = 5.0; // AReaL's behav_imp_weight_cap

    private static double behaviourWeight(int b, int t) {
        return Math.exp(PROX[b][t] - BEHAV[b][t]);
    }

    /** AReaL's per-token decoupled loss, 0 where the behaviour weight exceeds the cap. */
    private static double areal(int b, int t, double cap) {
        double w = behaviourWeight(b, t);
        if (w > cap) {
            return 0;
        }
        double r = Math.exp(THETA[b][t] - PROX[b][t]);
        double clipped = Math.min(1 + EPS, Math.max(1 - EPS, r));
        return -w * Math.min(r * ADV[b], clipped * ADV[b]);
    }

    private NDArray tensor(double[][] x) {
        float[] flat = new float[x.length * x[0].length];
        for (int b = 0; b < x.length; b++) {
            for (int t = 0; t < x[0].length; t++) {
                flat[b * x[0].length + t] = (float) x[b][t];
            }
        }
        return manager.create(flat, new Shape(x.length, x[0].length));
    }

    private SamplingCorrection correction(Double cap) {
        return SamplingCorrection.compute(tensor(PROX), tensor(BEHAV), tensor(MASK), SamplingCorrectionMode.TOKEN_MASK, null, cap);
    }

    private double loss(SamplingCorrection c) {
        PolicyLoss.Batch batch = new PolicyLoss.Batch(tensor(THETA), tensor(PROX), null,
                manager.create(new float[] {(float) ADV[0], (float) ADV[1]}), tensor(MASK), c.ratio(), null);
        PolicyLoss.Settings settings = new PolicyLoss.Settings(LossType.BNPO, ImportanceSamplingLevel.TOKEN, EPS, EPS, 0.0, 4);
        return PolicyLoss.compute(batch, settings, 5, 1).loss().getFloat();
    }

    @Test
    void staleTokensAreWeightedByTheProximalOverTheBehaviourProbability() {
        double[] expected = new double[6];
        for (int i = 0; i < 6; i++) {
            expected[i] = MASK[i / 3][i % 3] == 0 ? 1.0 : behaviourWeight(i / 3, i % 3);
        }
        double[] actual = TokenLogProbsTest.toDouble(correction(null).ratio());
        assertArrayEquals(expected, actual, 1e-5);
        assertEquals(Math.exp(1.0), actual[0], 1e-5, "a token e times likelier now than when it was sampled weighs e");
    }

    @Test
    void theLossIsAReaLsDecoupledObjective() {
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += areal(b, t, Double.POSITIVE_INFINITY) * MASK[b][t];
            }
        }
        assertEquals(sum / 5, loss(correction(null)), 1e-5);
    }

    @Test
    void tokensWhoseBehaviourWeightExceedsTheCapLeaveTheLoss() {
        // row 0's last token: π_prox/π_behav = e^1.8 ≈ 6.05 > 5
        assertEquals(0.0, TokenLogProbsTest.toDouble(correction(CAP).ratio())[2], 0.0);
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += areal(b, t, CAP) * MASK[b][t];
            }
        }
        assertEquals(sum / 5, loss(correction(CAP)), 1e-5);
    }
}
