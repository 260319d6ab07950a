package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.trainer.config.SamplingCorrectionMode;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** TRL computes sampling/* once over the generation batch: two micro-batches' totals must give the whole batch's. */
class SamplingCorrectionTotalsTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    private static final float[] OLD = {-1.0f, -2.0f, -0.5f, -0.3f, -1.2f, -4.0f, -0.1f, -3.0f, -0.9f, -2.2f, -0.4f, -1.0f};
    private static final float[] SAMPLING = {-1.5f, -1.0f, -0.4f, -0.3f, -0.2f, 5.0f, -0.3f, -2.0f, -0.9f, -2.0f, -0.1f, 9f};
    private static final float[] MASK = {1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0};

    private SamplingCorrection compute(int fromRow, int rows, SamplingCorrectionMode mode) {
        float[] o = new float[rows * 3];
        float[] s = new float[rows * 3];
        float[] m = new float[rows * 3];
        System.arraycopy(OLD, fromRow * 3, o, 0, o.length);
        System.arraycopy(SAMPLING, fromRow * 3, s, 0, s.length);
        System.arraycopy(MASK, fromRow * 3, m, 0, m.length);
        Shape shape = new Shape(rows, 3);
        return SamplingCorrection.compute(manager.create(o, shape), manager.create(s, shape), manager.create(m, shape),
                mode, 0.5, 2.0);
    }

    @ParameterizedTest
    @EnumSource(SamplingCorrectionMode.class)
    void twoMicroBatchesTogetherGiveTheWholeBatchsMinMeanAndMax(SamplingCorrectionMode mode) {
        Map<String, Double> whole = compute(0, 4, mode).stats();
        Map<String, Double> merged = compute(0, 2, mode).totals().plus(compute(2, 2, mode).totals()).metrics();
        assertEquals(whole.keySet(), merged.keySet());
        whole.forEach((k, v) -> assertEquals(v, merged.get(k), 1e-6, k));
        // and not the mean of the two micro-batch means: the halves have 5 and 4 active tokens
        double meanOfMeans = (compute(0, 2, mode).stats().get("sampling/sampling_logp_difference/mean")
                + compute(2, 2, mode).stats().get("sampling/sampling_logp_difference/mean")) / 2;
        double exact = whole.get("sampling/sampling_logp_difference/mean");
        assertEquals(true, Math.abs(meanOfMeans - exact) > 1e-3, "the batch is chosen so the two differ");
    }
}
