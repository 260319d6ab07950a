package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.trainer.config.SamplingCorrectionMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SamplingCorrectionTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    // B = 2, T = 3; row 1's last position is padding (its huge difference must not count)
    private static final float[] OLD = {-1.0f, -2.0f, -0.5f, -0.3f, -1.2f, -4.0f};
    private static final float[] SAMPLING = {-1.5f, -1.0f, -0.4f, -0.3f, -0.2f, 5.0f};
    private static final float[] MASK = {1, 1, 1, 1, 1, 0};
    private static final double CLIP_MIN = 0.5;
    private static final double CLIP_MAX = 2.0;

    private SamplingCorrection run(SamplingCorrectionMode mode, Double min, Double max) {
        return SamplingCorrection.compute(manager.create(OLD, new Shape(2, 3)), manager.create(SAMPLING, new Shape(2, 3)),
                manager.create(MASK, new Shape(2, 3)), mode, min, max);
    }

    private static double[] tokenRatios() {
        double[] r = new double[6];
        for (int i = 0; i < 6; i++) {
            r[i] = Math.exp(((double) OLD[i] - SAMPLING[i]) * MASK[i]);
        }
        return r; // e^0.5, e^-1, e^-0.1, 1, e^-1, 1
    }

    private static double[] sequenceRatios() {
        double[] r = new double[2];
        for (int i = 0; i < 6; i++) {
            r[i / 3] += ((double) OLD[i] - SAMPLING[i]) * MASK[i];
        }
        return new double[] {Math.exp(r[0]), Math.exp(r[1])}; // e^-0.6, e^-1
    }

    @Test
    void tokenTruncateClampsEachTokenRatio() {
        double[] expected = tokenRatios();
        for (int i = 0; i < expected.length; i++) {
            expected[i] = Math.min(CLIP_MAX, Math.max(CLIP_MIN, expected[i]));
        }
        SamplingCorrection c = run(SamplingCorrectionMode.TOKEN_TRUNCATE, CLIP_MIN, CLIP_MAX);
        assertEquals(new Shape(2, 3), c.ratio().getShape());
        assertArrayEquals(expected, TokenLogProbsTest.toDouble(c.ratio()), 1e-6);
    }

    @Test
    void tokenMaskZeroesTokenRatiosOutsideTheBounds() {
        double[] expected = tokenRatios();
        for (int i = 0; i < expected.length; i++) {
            expected[i] = expected[i] < CLIP_MIN || expected[i] > CLIP_MAX ? 0.0 : expected[i];
        }
        SamplingCorrection c = run(SamplingCorrectionMode.TOKEN_MASK, CLIP_MIN, CLIP_MAX);
        assertArrayEquals(expected, TokenLogProbsTest.toDouble(c.ratio()), 1e-6);
    }

    @Test
    void sequenceTruncateClampsOneRatioPerSequence() {
        double[] expected = sequenceRatios();
        for (int i = 0; i < expected.length; i++) {
            expected[i] = Math.min(CLIP_MAX, Math.max(CLIP_MIN, expected[i]));
        }
        SamplingCorrection c = run(SamplingCorrectionMode.SEQUENCE_TRUNCATE, CLIP_MIN, CLIP_MAX);
        assertEquals(new Shape(2, 1), c.ratio().getShape());
        assertArrayEquals(expected, TokenLogProbsTest.toDouble(c.ratio()), 1e-6);
    }

    @Test
    void sequenceMaskZeroesSequencesOutsideTheBounds() {
        double[] expected = sequenceRatios(); // e^-0.6 = 0.549 stays, e^-1 = 0.368 is below 0.5
        expected[1] = 0.0;
        SamplingCorrection c = run(SamplingCorrectionMode.SEQUENCE_MASK, CLIP_MIN, CLIP_MAX);
        assertArrayEquals(expected, TokenLogProbsTest.toDouble(c.ratio()), 1e-6);
    }

    @Test
    void sequenceMaskZeroesASequenceWhoseRatioOverflowsInsteadOfMakingItNaN() {
        // row 0: 3 tokens 40 nats each above the sampler, e^120 is infinite in fp32; row 1 inside the bounds
        float[] old = {-1f, -1f, -1f, -1.1f, -1f, -1f};
        float[] sampling = {-41f, -41f, -41f, -1f, -1f, -1f};
        SamplingCorrection c = SamplingCorrection.compute(manager.create(old, new Shape(2, 3)),
                manager.create(sampling, new Shape(2, 3)), manager.create(new float[] {1, 1, 1, 1, 1, 1}, new Shape(2, 3)),
                SamplingCorrectionMode.SEQUENCE_MASK, CLIP_MIN, CLIP_MAX);
        assertArrayEquals(new float[] {0f, (float) Math.exp(-0.1)}, c.ratio().toFloatArray(), 1e-6f);
    }

    @Test
    void missingBoundsAreOpen() {
        SamplingCorrection c = run(SamplingCorrectionMode.TOKEN_MASK, null, 1.5);
        double[] expected = tokenRatios();
        expected[0] = 0.0; // e^0.5 = 1.65 > 1.5; the small ones survive without a lower bound
        assertArrayEquals(expected, TokenLogProbsTest.toDouble(c.ratio()), 1e-6);
    }

    @Test
    void statsMeasureTheMaskedLogProbDifferenceAndTheRatios() {
        double sum = 0;
        double max = 0;
        int n = 0;
        for (int i = 0; i < 6; i++) {
            if (MASK[i] == 1) {
                double d = Math.abs((double) OLD[i] - SAMPLING[i]);
                sum += d;
                max = Math.max(max, d);
                n++;
            }
        }
        SamplingCorrection token = run(SamplingCorrectionMode.TOKEN_TRUNCATE, null, 10.0);
        assertEquals(sum / n, token.stats().get("sampling/sampling_logp_difference/mean"), 1e-6);
        assertEquals(max, token.stats().get("sampling/sampling_logp_difference/max"), 1e-6);
        double[] r = tokenRatios();
        double rSum = 0;
        double rMin = Double.MAX_VALUE;
        double rMax = 0;
        for (int i = 0; i < 5; i++) { // the five masked-in tokens
            rSum += r[i];
            rMin = Math.min(rMin, r[i]);
            rMax = Math.max(rMax, r[i]);
        }
        assertEquals(rMin, token.stats().get("sampling/importance_sampling_ratio/min"), 1e-6);
        assertEquals(rSum / 5, token.stats().get("sampling/importance_sampling_ratio/mean"), 1e-6);
        assertEquals(rMax, token.stats().get("sampling/importance_sampling_ratio/max"), 1e-6);

        SamplingCorrection sequence = run(SamplingCorrectionMode.SEQUENCE_TRUNCATE, null, 10.0);
        double[] s = sequenceRatios();
        assertEquals((s[0] + s[1]) / 2, sequence.stats().get("sampling/importance_sampling_ratio/mean"), 1e-6);
        assertEquals(s[1], sequence.stats().get("sampling/importance_sampling_ratio/min"), 1e-6);
    }
}
