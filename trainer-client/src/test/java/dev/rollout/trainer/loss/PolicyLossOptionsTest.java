package dev.rollout.trainer.loss;

import static dev.rollout.trainer.loss.PolicyLossTest.ADV;
import static dev.rollout.trainer.loss.PolicyLossTest.EPS_HIGH;
import static dev.rollout.trainer.loss.PolicyLossTest.EPS_LOW;
import static dev.rollout.trainer.loss.PolicyLossTest.LOGP;
import static dev.rollout.trainer.loss.PolicyLossTest.MASK;
import static dev.rollout.trainer.loss.PolicyLossTest.OLD;
import static dev.rollout.trainer.loss.PolicyLossTest.REF;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * TRL's other loss types and loss options on the batch of {@link PolicyLossTest} (B = 2, T = 3, the second completion
 * two tokens long; 10 active tokens in the generation batch). Every expected value is TRL's formula from
 * {@code GRPOTrainer._compute_loss}, written out here in double arithmetic.
 */
class PolicyLossOptionsTest {
    private static final double GENERATION_TOKENS = 10;
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
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

    private static PolicyLoss.Settings settings(LossType type, ImportanceSamplingLevel level, double epsilonHigh,
            double beta, Double delta, double topEntropyQuantile, Double offPolicyThreshold, boolean biasCorrectedKl) {
        return new PolicyLoss.Settings(type, level, EPS_LOW, epsilonHigh, beta, 4, delta, 1.0, 1.05, topEntropyQuantile,
                offPolicyThreshold, biasCorrectedKl, VespoWeights.Shape.TRL_DEFAULT);
    }

    private static PolicyLoss.Settings settings(LossType type) {
        return settings(type, ImportanceSamplingLevel.TOKEN, EPS_HIGH, 0.0, null, 1.0, null, false);
    }

    private PolicyLoss.Batch batch(NDArray logp, NDArray samplingRatio, NDArray entropy, NDArray sampling) {
        return new PolicyLoss.Batch(logp, tensor(OLD), tensor(REF), vector(ADV), tensor(MASK), samplingRatio, entropy,
                sampling);
    }

    private static double ratio(int b, int t) {
        return Math.exp(LOGP[b][t] - OLD[b][t]);
    }

    private static double sumOverMask(PerToken f) {
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                sum += f.at(b, t) * MASK[b][t];
            }
        }
        return sum;
    }

    @FunctionalInterface
    interface PerToken {
        double at(int b, int t);
    }

    @Test
    void cispoWeighsTheLogProbByTheCappedRatioAndNormalisesLikeDapo() {
        double cap = 1.2; // epsilon_high is cispo's cap ε_max; row 0's last ratio (≈ 1.649) is capped
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, null, null),
                settings(LossType.CISPO, ImportanceSamplingLevel.TOKEN, cap, 0, null, 1.0, null, false),
                GENERATION_TOKENS, 2);
        double expected = sumOverMask((b, t) -> -Math.min(ratio(b, t), cap) * ADV[b] * LOGP[b][t]) / GENERATION_TOKENS;
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals(1.0 / 5, r.stats().get("cispo_clip_ratio"), 1e-9, "one of 5 active tokens capped with A > 0");
        assertFalse(r.stats().containsKey("clip_ratio/region_mean"), "TRL logs no clip_ratio/* for cispo");
    }

    @Test
    void cispoDetachesTheWeightSoTheGradientIsTheCappedRatioTimesTheAdvantage() {
        double cap = 1.2;
        NDArray logp = tensor(LOGP);
        logp.setRequiresGradient(true);
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            LossResult r = PolicyLoss.compute(batch(logp, null, null, null),
                    settings(LossType.CISPO, ImportanceSamplingLevel.TOKEN, cap, 0, null, 1.0, null, false),
                    GENERATION_TOKENS, 1);
            collector.backward(r.loss());
        }
        float[] gradient = logp.getGradient().toFloatArray();
        float[] expected = new float[6];
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                expected[b * 3 + t] = (float) (-Math.min(ratio(b, t), cap) * ADV[b] * MASK[b][t] / GENERATION_TOKENS);
            }
        }
        assertArrayEquals(expected, gradient, 1e-6f);
    }

    @Test
    void sapoGatesTheRatioWithATemperedSigmoidAndAveragesLikeGrpo() {
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, null, null), settings(LossType.SAPO),
                GENERATION_TOKENS, 2);
        double expected = 0;
        for (int b = 0; b < 2; b++) {
            double tau = ADV[b] > 0 ? 1.0 : 1.05; // sapo_temperature_pos / _neg
            double sum = 0;
            double n = 0;
            for (int t = 0; t < 3; t++) {
                double soft = 1 / (1 + Math.exp(-tau * (ratio(b, t) - 1))) * 4 / tau;
                sum += -soft * ADV[b] * MASK[b][t];
                n += MASK[b][t];
            }
            expected += sum / n / 2;
        }
        assertEquals(expected / 2, r.loss().getFloat(), 1e-6, "divided by gradient_accumulation_steps");
        assertFalse(r.stats().containsKey("clip_ratio/region_mean"));
    }

    @Test
    void luspoScalesEachSequenceLossByItsLengthThenAverages() {
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, null, null),
                settings(LossType.LUSPO, ImportanceSamplingLevel.SEQUENCE, EPS_HIGH, 0, null, 1.0, null, false),
                GENERATION_TOKENS, 2);
        double expected = 0;
        for (int b = 0; b < 2; b++) {
            double logRatio = 0;
            double n = 0;
            for (int t = 0; t < 3; t++) {
                logRatio += (LOGP[b][t] - OLD[b][t]) * MASK[b][t];
                n += MASK[b][t];
            }
            expected += PolicyLossTest.clippedLoss(Math.exp(logRatio / n), ADV[b]) * n / 2;
        }
        assertEquals(expected / 2, r.loss().getFloat(), 1e-6);
        assertEquals(0.0, r.stats().get("clip_ratio/region_mean"), 1e-9, "luspo logs TRL's clip ratios");
    }

    private static double phi(double logW, double advantage) {
        double k = advantage >= 0 ? 2.0 : 3.0; // vespo_k_pos / vespo_k_neg
        double lambda = advantage >= 0 ? 3.0 : 2.0; // vespo_lambda_pos / vespo_lambda_neg
        double clamped = Math.max(Math.log(1e-8), Math.min(20, logW));
        return Math.exp(lambda + k * clamped - lambda * Math.exp(clamped));
    }

    @Test
    void vespoWeighsTheLogProbByTheGammaWeightOfTheSequenceRatio() {
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, null, null), settings(LossType.VESPO),
                GENERATION_TOKENS, 2);
        double[] phi = new double[2];
        for (int b = 0; b < 2; b++) {
            double logW = 0;
            for (int t = 0; t < 3; t++) {
                logW += (LOGP[b][t] - OLD[b][t]) * MASK[b][t]; // a sum, not GSPO's mean
            }
            phi[b] = phi(logW, ADV[b]);
        }
        double expected = sumOverMask((b, t) -> -phi[b] * ADV[b] * LOGP[b][t]) / GENERATION_TOKENS;
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals((phi[0] + phi[1]) / 2, r.stats().get("vespo/phi_seq_mean"), 1e-6);
    }

    @Test
    void vespoFoldsTheTokenSamplingRatioIntoItsWeightInsteadOfMultiplyingTheLoss() {
        double[][] rho = {{1.5, 0.5, 2.0}, {0.8, 1.1, 1.0}}; // the padding position's ratio is exp(0) = 1
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), tensor(rho), null, null), settings(LossType.VESPO),
                GENERATION_TOKENS, 1);
        double[] phi = new double[2];
        for (int b = 0; b < 2; b++) {
            double logW = 0;
            for (int t = 0; t < 3; t++) {
                logW += (LOGP[b][t] - OLD[b][t]) * MASK[b][t] + Math.log(rho[b][t]);
            }
            phi[b] = phi(logW, ADV[b]);
        }
        double expected = sumOverMask((b, t) -> -phi[b] * ADV[b] * LOGP[b][t]) / GENERATION_TOKENS;
        assertEquals(expected, r.loss().getFloat(), 1e-6);
    }

    @Test
    void deltaCapsTheUnclippedRatioOfANegativeAdvantage() {
        // one token, A = -1, ratio e^0.7 ≈ 2.014: without delta the loss is r·|A|; with delta 1.5 it is 1.5
        NDArray logp = manager.create(new float[] {-0.3f}, new Shape(1, 1));
        NDArray old = manager.create(new float[] {-1.0f}, new Shape(1, 1));
        NDArray mask = manager.create(new float[] {1f}, new Shape(1, 1));
        NDArray adv = manager.create(new float[] {-1f});
        PolicyLoss.Batch b = new PolicyLoss.Batch(logp, old, null, adv, mask, null, null);
        double plain = PolicyLoss.compute(b, settings(LossType.DAPO), 1, 1).loss().getFloat();
        double capped = PolicyLoss.compute(b,
                settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, EPS_HIGH, 0, 1.5, 1.0, null, false), 1, 1)
                .loss().getFloat();
        double r = Math.exp(0.7);
        assertEquals(-Math.min(r * -1, Math.min(1 + EPS_HIGH, r) * -1), plain, 1e-6);
        assertEquals(-Math.min(Math.min(r, 1.5) * -1, Math.min(1 + EPS_HIGH, r) * -1), capped, 1e-6);
    }

    @Test
    void topEntropyQuantileKeepsOnlyTheTokensAboveTheEntropyQuantile() {
        double[][] entropy = {{0.5, 2.0, 1.0}, {3.0, 0.1, 9.9}}; // 9.9 is padding and must not count
        double keep = 0.3;
        // torch.quantile(active entropies, 1 − ρ), linear: sorted 0.1, 0.5, 1.0, 2.0, 3.0 at 0.7·4 = 2.8 → 1.8
        double[] sorted = {0.1, 0.5, 1.0, 2.0, 3.0};
        double position = (1 - keep) * (sorted.length - 1);
        int low = (int) Math.floor(position);
        double threshold = sorted[low] + (sorted[low + 1] - sorted[low]) * (position - low);
        assertEquals(1.8, threshold, 1e-12);
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, tensor(entropy), null),
                settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, EPS_HIGH, 0, null, keep, null, false),
                GENERATION_TOKENS, 1);
        double expected = sumOverMask((b, t) -> entropy[b][t] >= threshold ? PolicyLossTest.tokenLoss(b, t) : 0)
                / GENERATION_TOKENS; // tokens (0, 1) and (1, 0)
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals((PolicyLossTest.tokenLoss(0, 1) + PolicyLossTest.tokenLoss(1, 0)) / GENERATION_TOKENS,
                r.loss().getFloat(), 1e-6);
    }

    @Test
    void offPolicyMaskDropsNegativeAdvantageSequencesFarFromTheSampler() {
        // mean KL (sampling − logp) over the mask: row 0 = 0.5 (kept anyway: A > 0), row 1 = 0.4 > δ = 0.3 (A < 0: dropped)
        double[][] sampling = {{-0.5, -0.3, -1.5}, {-0.1, -1.1, 5.0}};
        double threshold = 0.3;
        LossResult dropped = PolicyLoss.compute(batch(tensor(LOGP), null, null, tensor(sampling)),
                settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, EPS_HIGH, 0, null, 1.0, threshold, false),
                GENERATION_TOKENS, 1);
        double row0 = 0;
        for (int t = 0; t < 3; t++) {
            row0 += PolicyLossTest.tokenLoss(0, t);
        }
        assertEquals(row0 / GENERATION_TOKENS, dropped.loss().getFloat(), 1e-6);
        LossResult kept = PolicyLoss.compute(batch(tensor(LOGP), null, null, tensor(sampling)),
                settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, EPS_HIGH, 0, null, 1.0, 0.5, false),
                GENERATION_TOKENS, 1);
        assertEquals(sumOverMask(PolicyLossTest::tokenLoss) / GENERATION_TOKENS, kept.loss().getFloat(), 1e-6,
                "row 1's KL 0.4 is within δ = 0.5");
    }

    @Test
    void biasCorrectedKlIsTheK3EstimateTimesThePolicyRatio() {
        double beta = 0.04;
        LossResult r = PolicyLoss.compute(batch(tensor(LOGP), null, null, null),
                settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, EPS_HIGH, beta, null, 1.0, null, true),
                GENERATION_TOKENS, 1);
        double expected = sumOverMask((b, t) -> PolicyLossTest.tokenLoss(b, t)
                + beta * PolicyLossTest.k3(b, t) * ratio(b, t)) / GENERATION_TOKENS;
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals(sumOverMask((b, t) -> PolicyLossTest.k3(b, t) * ratio(b, t)) / 5, r.stats().get("kl"), 1e-6);
    }
}
