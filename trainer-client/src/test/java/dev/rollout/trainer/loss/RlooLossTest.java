package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RlooLossTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    static final float[] LOGP = {-1.0f, -0.5f, -2.0f, -0.4f, -0.6f, -3.0f};
    static final float[] MASK = {1, 1, 1, 1, 1, 0};
    static final double[] ADV = {0.6, -0.9};

    static double clipped(double ratio, double a, double low, double high) {
        return -Math.min(ratio * a, Math.min(1 + high, Math.max(1 - low, ratio)) * a);
    }

    @Test
    void lossUsesOneRatioPerSequenceFromSummedLogProbs() {
        double[] old = {-3.3, -1.3}; // Σ logp: row 0 = -3.5, row 1 = -1.0 (padding excluded)
        double r0 = Math.exp(-3.5 - old[0]); // 0.819
        double r1 = Math.exp(-1.0 - old[1]); // 1.35: above 1 + 0.2 with a negative advantage, so not clipped
        double expected = (clipped(r0, ADV[0], 0.2, 0.2) + clipped(r1, ADV[1], 0.2, 0.2)) / 2 / 2;
        LossResult r = RlooLoss.compute(manager.create(LOGP, new Shape(2, 3)),
                manager.create(new float[] {(float) old[0], (float) old[1]}),
                manager.create(new float[] {(float) ADV[0], (float) ADV[1]}), manager.create(MASK, new Shape(2, 3)), null,
                0.2, 0.2, 2);
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals(0.0, r.stats().get("clip_ratio/region_mean"), 1e-9);
    }

    @Test
    void clippedSequencesAreCountedPerSequence() {
        double[] old = {-3.0, -1.5}; // ratios e^-0.5 = 0.61 (advantage > 0: not clipped), e^0.5 = 1.65 (advantage < 0)
        double[] adv = {0.6, 0.9};   // second sequence now has a positive advantage: high-clipped
        LossResult r = RlooLoss.compute(manager.create(LOGP, new Shape(2, 3)),
                manager.create(new float[] {(float) old[0], (float) old[1]}),
                manager.create(new float[] {(float) adv[0], (float) adv[1]}), manager.create(MASK, new Shape(2, 3)), null,
                0.2, 0.2, 1);
        double expected = (clipped(Math.exp(-0.5), adv[0], 0.2, 0.2) + clipped(Math.exp(0.5), adv[1], 0.2, 0.2)) / 2;
        assertEquals(expected, r.loss().getFloat(), 1e-6);
        assertEquals(0.5, r.stats().get("clip_ratio/high_mean"), 1e-9);
        assertEquals(1.0, r.stats().get("clip_ratio/high_max"), 1e-9);
        assertEquals(0.0, r.stats().get("clip_ratio/low_mean"), 1e-9);
    }

    @Test
    void withoutOldLogProbsTheLossIsMinusTheMeanAdvantage() {
        LossResult r = RlooLoss.compute(manager.create(LOGP, new Shape(2, 3)), null,
                manager.create(new float[] {(float) ADV[0], (float) ADV[1]}), manager.create(MASK, new Shape(2, 3)), null,
                0.2, 0.2, 1);
        assertEquals(-(ADV[0] + ADV[1]) / 2, r.loss().getFloat(), 1e-6);
    }
}
