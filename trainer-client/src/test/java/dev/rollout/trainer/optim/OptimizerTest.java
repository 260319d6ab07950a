package dev.rollout.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OptimizerTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    /** Gives each parameter the gradient {@code g}: backward of Σ p·g. */
    private void setGradients(List<NDArray> params, List<float[]> grads) {
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            collector.zeroGradients();
            NDArray total = null;
            for (int i = 0; i < params.size(); i++) {
                NDArray term = params.get(i).mul(manager.create(grads.get(i))).sum();
                total = total == null ? term : total.add(term);
            }
            collector.backward(total);
        }
    }

    private NDArray parameter(float... values) {
        NDArray p = manager.create(values);
        p.setRequiresGradient(true);
        return p;
    }

    @Test
    void gradientsAboveTheMaxNormAreScaledToIt() {
        NDArray a = parameter(0f, 0f);
        NDArray b = parameter(0f);
        setGradients(List.of(a, b), List.of(new float[] {3f, 0f}, new float[] {4f}));
        double norm = GradClip.clipGlobalNorm(List.of(a, b), 1.0);
        assertEquals(5.0, norm, 1e-6);
        double scale = 1.0 / (5.0 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * scale), 0f}, a.getGradient().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(float) (4 * scale)}, b.getGradient().toFloatArray(), 1e-6f);
    }

    @Test
    void gradientsBelowTheMaxNormAreLeftAlone() {
        NDArray a = parameter(0f, 0f);
        setGradients(List.of(a), List.of(new float[] {0.3f, 0.4f}));
        assertEquals(0.5, GradClip.clipGlobalNorm(List.of(a), 1.0), 1e-6);
        assertArrayEquals(new float[] {0.3f, 0.4f}, a.getGradient().toFloatArray(), 1e-7f);
    }

    @Test
    void adamWMatchesTheTorchUpdateOverTwoSteps() {
        double lr = 0.1;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double wd = 0.01;
        NDArray p = parameter(1.0f, -2.0f);
        double[] expected = {1.0, -2.0};
        double[] m = new double[2];
        double[] v = new double[2];
        float[][] grads = {{0.5f, -1.0f}, {0.1f, 0.3f}};
        try (AdamW adam = new AdamW(List.of(p), b1, b2, eps, wd)) {
            for (int step = 1; step <= 2; step++) {
                setGradients(List.of(p), List.of(grads[step - 1]));
                adam.step(lr);
                for (int i = 0; i < 2; i++) {
                    double g = grads[step - 1][i];
                    expected[i] *= 1 - lr * wd;
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    double mHat = m[i] / (1 - Math.pow(b1, step));
                    double vHat = v[i] / (1 - Math.pow(b2, step));
                    expected[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
                }
            }
            float[] actual = p.toFloatArray();
            assertEquals(expected[0], actual[0], 1e-5);
            assertEquals(expected[1], actual[1], 1e-5);
            assertEquals(2, adam.stepCount());
            assertEquals(m[0], adam.firstMoments().get(0).toFloatArray()[0], 1e-6);
            assertEquals(v[1], adam.secondMoments().get(0).toFloatArray()[1], 1e-9);
        }
    }

    @Test
    void restoredAdamWContinuesAsTheOriginal() {
        NDArray original = parameter(1.0f, 2.0f);
        NDArray copy = parameter(1.0f, 2.0f);
        try (AdamW a = new AdamW(List.of(original), 0.9, 0.999, 1e-8, 0.0);
                AdamW b = new AdamW(List.of(copy), 0.9, 0.999, 1e-8, 0.0)) {
            setGradients(List.of(original), List.of(new float[] {0.2f, -0.7f}));
            a.step(0.05);
            copy.set(original.toFloatArray());
            b.restore(a.stepCount(), List.of(a.firstMoments().get(0).toFloatArray()),
                    List.of(a.secondMoments().get(0).toFloatArray()));
            setGradients(List.of(original, copy), List.of(new float[] {0.4f, 0.1f}, new float[] {0.4f, 0.1f}));
            a.step(0.05);
            b.step(0.05);
            assertArrayEquals(original.toFloatArray(), copy.toFloatArray(), 0f);
        }
    }

    @Test
    void linearScheduleWarmsUpThenDecaysToZero() {
        LearningRateSchedule s = new LearningRateSchedule(1.0, "linear", 2, 10);
        assertEquals(0.0, s.at(0));
        assertEquals(0.5, s.at(1));
        assertEquals(1.0, s.at(2));
        assertEquals(0.5, s.at(6), 1e-12);
        assertEquals(0.0, s.at(10));
        assertEquals(1.0, new LearningRateSchedule(1.0, "constant", 0, 10).at(9));
    }
}
