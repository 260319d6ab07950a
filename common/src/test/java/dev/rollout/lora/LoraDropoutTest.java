package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.weights.HostTensor;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * lora_dropout: on the adapter's input in the training forward (autograd recording), never when scoring or serving.
 * Dropout draws from libtorch's generator, so each test seeds it: the masks, and so the results, are the same on
 * every run.
 */
class LoraDropoutTest {
    private static final ModelConfig MODEL = TestModels.llama();
    private static final int DROPOUT_SEED = 3;
    private static final long[] IDS = {1, 5, 9, 3, 7, 2, 8, 4};
    private static NDManager manager;
    private static ModelWeights base;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
        base = ModelWeights.fromHost(MODEL, TestModels.mapOf(TestModels.randomWeights(MODEL, 1, 0.2)), manager);
    }

    @AfterAll
    static void stop() {
        base.close();
        manager.close();
    }

    private static float[] logits(CausalLM model, NDManager m) {
        long[] pos = new long[IDS.length];
        Arrays.setAll(pos, i -> i);
        return model.logits(model.forward(m.create(IDS), m.create(pos), new DenseCausalContext(1, IDS.length))).toFloatArray();
    }

    private static float[] logitsWith(double dropout, boolean gradMode) {
        LoraConfig lora = new LoraConfig(4, 8, dropout, EnumSet.allOf(LoraTarget.class), false);
        Map<String, HostTensor> tensors = TestAdapters.random(lora, MODEL, 2, 0.3);
        boolean mode = JniUtils.isGradMode();
        JniUtils.setGradMode(gradMode);
        Engine.getInstance().setRandomSeed(DROPOUT_SEED);
        try (LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, tensors, manager);
             CausalLM model = new CausalLM(MODEL, base); NDManager m = manager.newSubManager()) {
            model.setAdapter(adapter);
            return logits(model, m);
        } finally {
            JniUtils.setGradMode(mode);
        }
    }

    @Test
    void dropoutActsInTheTrainingForward() {
        assertFalse(Arrays.equals(logitsWith(0, true), logitsWith(0.5, true)));
    }

    @Test
    void theSameSeedDropsTheSameInputs() {
        assertArrayEquals(logitsWith(0.5, true), logitsWith(0.5, true));
    }

    @Test
    void scoringAndServingSeeNoDropout() {
        assertArrayEquals(logitsWith(0, false), logitsWith(0.5, false));
    }

    @Test
    void gradientsThroughDropoutAreFinite() {
        LoraConfig lora = new LoraConfig(4, 8, 0.05, EnumSet.allOf(LoraTarget.class), false);
        try (LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, TestAdapters.random(lora, MODEL, 2, 0.3), manager);
             CausalLM model = new CausalLM(MODEL, base)) {
            model.setAdapter(adapter);
            adapter.parameters().forEach(p -> p.setRequiresGradient(true));
            Engine.getInstance().setRandomSeed(DROPOUT_SEED); // twenty different masks, the same twenty on every run
            for (int rep = 0; rep < 20; rep++) {
                try (NDManager m = manager.newSubManager(); GradientCollector gc = manager.getEngine().newGradientCollector()) {
                    long[] pos = new long[IDS.length];
                    Arrays.setAll(pos, i -> i);
                    NDArray out = model.logits(model.forward(m.create(IDS), m.create(pos), new DenseCausalContext(1, IDS.length)));
                    gc.backward(out.logSoftmax(-1).sum());
                }
                for (NDArray p : adapter.parameters()) {
                    for (float v : p.getGradient().toFloatArray()) {
                        assertTrue(Float.isFinite(v), "repetition " + rep + ": gradient " + v);
                    }
                }
            }
        }
    }
}
