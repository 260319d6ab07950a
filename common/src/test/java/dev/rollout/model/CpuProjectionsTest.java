package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.weights.HostTensor;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The serving forward's Java projections follow the weights the model has now. */
class CpuProjectionsTest {
    private static final int ROWS = 6; // within CpuLinear's range, so the projections and the LM head run in Java
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    private static float[] denseLogits(CausalLM model, long[] ids) {
        try (NDManager step = manager.newSubManager()) {
            long[] pos = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                pos[i] = i;
            }
            NDArray hidden = model.forward(step.create(ids), step.create(pos), new DenseCausalContext(1, ids.length));
            return model.logits(hidden).toFloatArray();
        }
    }

    /** The prompt prefilled as one chunk of ROWS rows on a fresh cache. */
    private static float[] pagedLogits(CausalLM model, long[] ids) {
        try (NDManager step = manager.newSubManager()) {
            KvCache cache = new KvCache(model.config(), 2, 4, step);
            long[] pos = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                pos[i] = i;
            }
            List<PagedAttentionContext.SequenceSlice> slices =
                    List.of(new PagedAttentionContext.SequenceSlice(ids.length, ids.length, new int[] {1, 0}));
            try (PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step, TestModels.attentionBackend())) {
                assertTrue(ctx.cpuProjections() && CpuLinear.suits(ids.length), "the step must take the Java path");
                NDArray hidden = model.forward(step.create(ids), step.create(pos), ctx);
                return model.logits(hidden).toFloatArray();
            }
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    @Test
    void aServingStepAfterSetWeightsUsesTheNewWeights() {
        ModelConfig c = TestModels.llama();
        List<HostTensor> first = TestModels.randomWeights(c, 21, 0.2);
        List<HostTensor> second = TestModels.randomWeights(c, 22, 0.2);
        long[] ids = {3, 1, 4, 1, 5, 9};
        try (ModelWeights a = ModelWeights.fromHost(c, TestModels.mapOf(first), manager);
             ModelWeights b = ModelWeights.fromHost(c, TestModels.mapOf(second), manager);
             CausalLM model = new CausalLM(c, a)) {
            float[] servedA = pagedLogits(model, ids);
            model.setWeights(b);
            float[] servedB = pagedLogits(model, ids);
            float[] expectedB = denseLogits(model, ids);
            assertTrue(maxDifference(servedB, expectedB) <= 1e-4, "served logits differ from the new weights' forward by "
                    + maxDifference(servedB, expectedB));
            assertTrue(maxDifference(servedA, servedB) > 1e-2, "the second weights must change the logits");
        }
    }

    @Test
    void aTrainingForwardAfterServingStillRecordsGradients() {
        ModelConfig c = TestModels.llama();
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, 23, 0.2)), manager);
             CausalLM model = new CausalLM(c, w)) {
            pagedLogits(model, new long[] {2, 7, 1, 8, 2, 8});
            for (NDArray p : w.parameters()) {
                p.setRequiresGradient(true);
            }
            try (ai.djl.training.GradientCollector collector = manager.getEngine().newGradientCollector();
                 NDManager step = manager.newSubManager()) {
                long[] ids = {2, 7, 1, 8, 2, 8};
                NDArray hidden = model.forward(step.create(ids), step.create(new long[] {0, 1, 2, 3, 4, 5}),
                        new DenseCausalContext(1, ids.length));
                collector.backward(model.logits(hidden).sum());
            }
            double lmHeadGradient = w.lmHead().getGradient().abs().sum().getFloat();
            double qkvGradient = w.layers().get(0).qkv().getGradient().abs().sum().getFloat();
            assertTrue(lmHeadGradient > 0 && qkvGradient > 0, "gradients " + lmHeadGradient + ", " + qkvGradient);
        }
    }
}
