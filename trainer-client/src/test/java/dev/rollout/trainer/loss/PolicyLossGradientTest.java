package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * The gradient of the loss with respect to the logits, through {@link TokenLogProbs} and {@link PolicyLoss} by
 * autograd, against central finite differences of the same objective written out here in double precision.
 */
class PolicyLossGradientTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    static final int B = 2;
    static final int T = 3;
    static final int V = 4;
    static final double TEMPERATURE = 0.8;
    static final double EPS_LOW = 0.2;
    static final double EPS_HIGH = 0.28;
    static final double BETA = 0.1;
    static final long[] IDS = {2, 0, 3, 1, 1, 0};
    static final double[] MASK = {1, 1, 1, 1, 1, 0};
    static final double[] ADV = {0.7, -1.2};
    // sampler-correction weights, fixed for the step
    static final double[] RHO = {1.0, 0.9, 1.2, 0.8, 1.1, 1.0};
    static final double[] LOGITS = {
        0.3, -0.2, 0.9, 0.1, 1.2, 0.0, -0.5, 0.4, -0.3, 0.2, 0.6, 1.1,
        0.5, 0.8, -0.1, 0.0, -0.4, 0.7, 0.2, 0.3, 0.9, -0.6, 0.1, 0.4};
    // old log-probs chosen so the ratios land on both sides of the clip range, none at a kink
    static final double[] OLD_SHIFT = {0.05, -0.4, 0.35, 0.3, -0.1, 0.0};
    static final double[] REF_SHIFT = {0.2, -0.3, 0.1, -0.2, 0.4, 0.0};

    static double[] logProbs(double[] logits) {
        double[] out = new double[B * T];
        for (int row = 0; row < B * T; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                max = Math.max(max, logits[row * V + v] / TEMPERATURE);
            }
            double sum = 0;
            for (int v = 0; v < V; v++) {
                sum += Math.exp(logits[row * V + v] / TEMPERATURE - max);
            }
            out[row] = logits[row * V + (int) IDS[row]] / TEMPERATURE - max - Math.log(sum);
        }
        return out;
    }

    static double clipped(double ratio, double a) {
        return -Math.min(ratio * a, Math.min(1 + EPS_HIGH, Math.max(1 - EPS_LOW, ratio)) * a);
    }

    /** The objective in double precision: token or sequence ratio, ρ, β·k3, then grpo or dapo aggregation. */
    static double reference(double[] logits, double[] old, double[] ref, ImportanceSamplingLevel level, LossType type,
            double generationTokens) {
        double[] lp = logProbs(logits);
        double total = 0;
        double rowMean = 0;
        for (int b = 0; b < B; b++) {
            double logRatioSum = 0;
            double n = 0;
            for (int t = 0; t < T; t++) {
                logRatioSum += (lp[b * T + t] - old[b * T + t]) * MASK[b * T + t];
                n += MASK[b * T + t];
            }
            double rowSum = 0;
            for (int t = 0; t < T; t++) {
                int i = b * T + t;
                double ratio = level == ImportanceSamplingLevel.TOKEN ? Math.exp(lp[i] - old[i]) : Math.exp(logRatioSum / n);
                double d = ref[i] - lp[i];
                double loss = clipped(ratio, ADV[b]) * RHO[i] + BETA * (Math.exp(d) - d - 1);
                rowSum += loss * MASK[i];
            }
            total += rowSum;
            rowMean += rowSum / n;
        }
        return type == LossType.DAPO ? total / generationTokens : rowMean / B;
    }

    private void check(ImportanceSamplingLevel level, LossType type) {
        double[] base = logProbs(LOGITS);
        double[] old = new double[B * T];
        double[] ref = new double[B * T];
        for (int i = 0; i < B * T; i++) {
            old[i] = base[i] + OLD_SHIFT[i];
            ref[i] = base[i] + REF_SHIFT[i];
        }
        double generationTokens = 7;

        NDArray logits = manager.create(toFloat(LOGITS), new Shape(B, T, V));
        logits.setRequiresGradient(true);
        double lossValue;
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            TokenLogProbs lp = TokenLogProbs.compute(logits, manager.create(IDS, new Shape(B, T)), TEMPERATURE);
            PolicyLoss.Batch batch = new PolicyLoss.Batch(lp.logProbs(), manager.create(toFloat(old), new Shape(B, T)),
                    manager.create(toFloat(ref), new Shape(B, T)), manager.create(toFloat(ADV)),
                    manager.create(toFloat(MASK), new Shape(B, T)), manager.create(toFloat(RHO), new Shape(B, T)),
                    lp.entropy());
            LossResult result = PolicyLoss.compute(batch,
                    new PolicyLoss.Settings(type, level, EPS_LOW, EPS_HIGH, BETA, T), generationTokens, 1);
            lossValue = result.loss().getFloat();
            collector.backward(result.loss());
        }
        float[] gradient = logits.getGradient().toFloatArray();

        assertEquals(reference(LOGITS, old, ref, level, type, generationTokens), lossValue, 1e-6, "loss value");
        double h = 1e-5;
        for (int i = 0; i < LOGITS.length; i++) {
            double[] plus = LOGITS.clone();
            double[] minus = LOGITS.clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (reference(plus, old, ref, level, type, generationTokens)
                    - reference(minus, old, ref, level, type, generationTokens)) / (2 * h);
            assertEquals(numeric, gradient[i], 1e-5, "d loss / d logit " + i);
        }
    }

    @Test
    void tokenLevelDapoGradientMatchesFiniteDifferences() {
        check(ImportanceSamplingLevel.TOKEN, LossType.DAPO);
    }

    @Test
    void sequenceLevelGrpoGradientMatchesFiniteDifferences() {
        check(ImportanceSamplingLevel.SEQUENCE, LossType.GRPO);
    }

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}
