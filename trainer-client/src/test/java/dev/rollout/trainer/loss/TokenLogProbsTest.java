package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TokenLogProbsTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    // B = 1, T = 2, V = 3
    private static final float[] LOGITS = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};
    private static final long[] IDS = {1, 0};

    @Test
    void logProbsAreTheTemperatureScaledLogSoftmaxAtTheSampledTokens() {
        double temperature = 0.7;
        TokenLogProbs out = TokenLogProbs.compute(manager.create(LOGITS, new Shape(1, 2, 3)),
                manager.create(IDS, new Shape(1, 2)), temperature);
        double[] expected = new double[2];
        for (int t = 0; t < 2; t++) {
            expected[t] = logSoftmax(t, temperature)[(int) IDS[t]];
        }
        assertArrayEquals(expected, toDouble(out.logProbs()), 1e-6);
    }

    @Test
    void entropyIsThatOfTheTemperatureScaledDistribution() {
        double temperature = 1.5;
        TokenLogProbs out = TokenLogProbs.compute(manager.create(LOGITS, new Shape(1, 2, 3)),
                manager.create(IDS, new Shape(1, 2)), temperature);
        double[] expected = new double[2];
        for (int t = 0; t < 2; t++) {
            double[] lp = logSoftmax(t, temperature);
            for (double v : lp) {
                expected[t] -= Math.exp(v) * v;
            }
        }
        assertArrayEquals(expected, toDouble(out.entropy()), 1e-6);
    }

    @Test
    void mismatchedShapesAreRefused() {
        NDArray logits = manager.create(LOGITS, new Shape(1, 2, 3));
        NDArray ids = manager.create(new long[] {1, 0, 2}, new Shape(1, 3));
        assertThrows(IllegalArgumentException.class, () -> TokenLogProbs.compute(logits, ids, 1.0));
    }

    private static double[] logSoftmax(int t, double temperature) {
        double[] z = new double[3];
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < 3; v++) {
            z[v] = LOGITS[t * 3 + v] / temperature;
            max = Math.max(max, z[v]);
        }
        double sum = 0;
        for (double x : z) {
            sum += Math.exp(x - max);
        }
        double logSum = max + Math.log(sum);
        for (int v = 0; v < 3; v++) {
            z[v] -= logSum;
        }
        return z;
    }

    static double[] toDouble(NDArray a) {
        float[] f = a.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
