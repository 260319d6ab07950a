package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every expected value is recomputed here in plain double arithmetic from TRL's formulas. */
class PolicyLossTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    // B = 2 completions, T = 3 positions; the second completion is two tokens long
    static final double[][] LOGP = {{-1.0, -0.8, -2.0}, {-0.5, -1.5, -0.7}};
    // ratios exp(logp - old): row 0 ≈ 1.105, 0.741, 1.649 (high-clipped); row 1 ≈ 0.741 (low-clipped), 1.0, [padding]
    static final double[][] OLD = {{-1.1, -0.5, -2.5}, {-0.2, -1.5, -1.5}};
    static final double[][] REF = {{-0.9, -1.0, -1.7}, {-0.6, -1.2, -3.0}};
    static final double[] ADV = {0.8, -0.5};
    static final double[][] MASK = {{1, 1, 1}, {1, 1, 0}};
    static final double EPS_LOW = 0.2;
    static final double EPS_HIGH = 0.28;

    static double clippedLoss(double ratio, double advantage) {
        double clipped = Math.min(1 + EPS_HIGH, Math.max(1 - EPS_LOW, ratio));
        return -Math.min(ratio * advantage, clipped * advantage);
    }

    static double tokenLoss(int b, int t) {
        return clippedLoss(Math.exp(LOGP[b][t] - OLD[b][t]), ADV[b]);
    }

    static double k3(int b, int t) {
        double d = REF[b][t] - LOGP[b][t];
        return Math.exp(d) - d - 1;
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

    private NDArray vector(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return manager.create(f);
    }

    private PolicyLoss.Batch batch(NDArray samplingRatio, boolean withOld) {
        return new PolicyLoss.Batch(tensor(LOGP), withOld ? tensor(OLD) : null, tensor(REF), vector(ADV), tensor(MASK),
                samplingRatio, null);
    }

    private static PolicyLoss.Settings settings(LossType type, ImportanceSamplingLevel level, double beta) {
        return new PolicyLoss.Settings(type, level, EPS_LOW, EPS_HIGH, beta, 4);
    }

    private LossResult run(LossType type, double generationTokens, int accumulation) {
        return PolicyLoss.compute(batch(null, true), settings(type, ImportanceSamplingLevel.TOKEN, 0.0), generationTokens,
                accumulation);
    }

    private static double maskedSum() {
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += tokenLoss(b, t) * MASK[b][t];
            }
        }
        return sum;
    }

    @Test
    void dapoDividesTheMaskedSumByTheGenerationBatchTokenCount() {
        LossResult r = run(LossType.DAPO, 10, 2); // 10 active tokens over all micro-batches; accumulation is irrelevant
        assertEquals(maskedSum() / 10, r.loss().getFloat(), 1e-6);
        assertEquals(maskedSum() / 10, r.stats().get("loss"), 1e-6);
    }

    @Test
    void grpoAveragesEachSequenceTokenMeanAndDividesByAccumulation() {
        double row0 = (tokenLoss(0, 0) + tokenLoss(0, 1) + tokenLoss(0, 2)) / 3;
        double row1 = (tokenLoss(1, 0) + tokenLoss(1, 1)) / 2;
        assertEquals((row0 + row1) / 2 / 2, run(LossType.GRPO, 10, 2).loss().getFloat(), 1e-6);
    }

    @Test
    void bnpoDividesByTheMicroBatchTokenCountAndAccumulation() {
        assertEquals(maskedSum() / 5 / 2, run(LossType.BNPO, 10, 2).loss().getFloat(), 1e-6);
    }

    @Test
    void drGrpoDividesByBatchTimesMaxCompletionLengthAndAccumulation() {
        assertEquals(maskedSum() / (2 * 4) / 2, run(LossType.DR_GRPO, 10, 2).loss().getFloat(), 1e-6);
    }

    private static double sequenceRatio(int b) {
        double sum = 0;
        double n = 0;
        for (int t = 0; t < 3; t++) {
            sum += (LOGP[b][t] - OLD[b][t]) * MASK[b][t];
            n += MASK[b][t];
        }
        return Math.exp(sum / n);
    }

    @Test
    void sequenceLevelUsesOneRatioFromTheMaskedMeanLogRatio() {
        double l0 = clippedLoss(sequenceRatio(0), ADV[0]);
        double l1 = clippedLoss(sequenceRatio(1), ADV[1]);
        LossResult grpo = PolicyLoss.compute(batch(null, true), settings(LossType.GRPO, ImportanceSamplingLevel.SEQUENCE, 0),
                10, 1);
        assertEquals((l0 + l1) / 2, grpo.loss().getFloat(), 1e-6);
        // summed over tokens, each sequence's loss counts once per active token
        LossResult dapo = PolicyLoss.compute(batch(null, true), settings(LossType.DAPO, ImportanceSamplingLevel.SEQUENCE, 0),
                10, 1);
        assertEquals((3 * l0 + 2 * l1) / 10, dapo.loss().getFloat(), 1e-6);
    }

    @Test
    void withoutOldLogProbsTheRatioIsOne() {
        LossResult r = PolicyLoss.compute(batch(null, false), settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0), 5, 1);
        assertEquals(-(3 * ADV[0] + 2 * ADV[1]) / 5, r.loss().getFloat(), 1e-6);
        assertEquals(0.0, r.stats().get("clip_ratio/region_mean"));
    }

    @Test
    void positiveBetaAddsK3PerTokenAndLogsItsMaskedMean() {
        double beta = 0.04;
        double sum = 0;
        double klSum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += (tokenLoss(b, t) + beta * k3(b, t)) * MASK[b][t];
                klSum += k3(b, t) * MASK[b][t];
            }
        }
        LossResult r = PolicyLoss.compute(batch(null, true), settings(LossType.BNPO, ImportanceSamplingLevel.TOKEN, beta), 10, 1);
        assertEquals(sum / 5, r.loss().getFloat(), 1e-6);
        assertEquals(klSum / 5, r.stats().get("kl"), 1e-6);
    }

    @Test
    void betaWithoutReferenceLogProbsIsRefused() {
        PolicyLoss.Batch noRef = new PolicyLoss.Batch(tensor(LOGP), tensor(OLD), null, vector(ADV), tensor(MASK), null, null);
        assertThrows(IllegalArgumentException.class,
                () -> PolicyLoss.compute(noRef, settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0.1), 5, 1));
    }

    @Test
    void tokenSamplingRatioMultipliesEachTokenLoss() {
        double[][] rho = {{0.5, 1.0, 2.0}, {1.5, 0.0, 3.0}};
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += tokenLoss(b, t) * rho[b][t] * MASK[b][t];
            }
        }
        LossResult r = PolicyLoss.compute(batch(tensor(rho), true), settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0),
                10, 1);
        assertEquals(sum / 10, r.loss().getFloat(), 1e-6);
    }

    @Test
    void sequenceSamplingRatioMultipliesEveryTokenOfItsSequence() {
        double[][] rho = {{0.5}, {2.0}};
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += tokenLoss(b, t) * rho[b][0] * MASK[b][t];
            }
        }
        LossResult r = PolicyLoss.compute(batch(tensor(rho), true), settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0),
                10, 1);
        assertEquals(sum / 10, r.loss().getFloat(), 1e-6);
    }

    @Test
    void clipStatsCountTokensWhoseClipStopsTheGradient() {
        // low: row 1 token 0 (ratio 0.741 < 0.8, advantage < 0); high: row 0 token 2 (1.649 > 1.28, advantage > 0);
        // row 0 token 1 (0.741 with advantage > 0) and row 1's padding (2.23) do not count
        LossResult r = run(LossType.DAPO, 10, 1);
        assertEquals(1.0 / 5, r.stats().get("clip_ratio/low_mean"), 1e-9);
        assertEquals(1.0 / 5, r.stats().get("clip_ratio/high_mean"), 1e-9);
        assertEquals(2.0 / 5, r.stats().get("clip_ratio/region_mean"), 1e-9);
        assertEquals(0.0, r.stats().get("clip_ratio/low_min"), 1e-9); // row 0 has no low-clipped token
        assertEquals(1.0 / 3, r.stats().get("clip_ratio/high_max"), 1e-6);
    }

    @Test
    void entropyIsLoggedAsItsMaskedMean() {
        double[][] entropy = {{1.0, 2.0, 3.0}, {4.0, 5.0, 100.0}};
        PolicyLoss.Batch b = new PolicyLoss.Batch(tensor(LOGP), tensor(OLD), null, vector(ADV), tensor(MASK), null,
                tensor(entropy));
        LossResult r = PolicyLoss.compute(b, settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0), 10, 1);
        assertEquals((1 + 2 + 3 + 4 + 5) / 5.0, r.stats().get("entropy"), 1e-6);
    }
}
