package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.model.UnreachableBuffers;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The adapter's gradients must not depend on when the JVM collects garbage. A tensor DJL makes from Java data (a
 * number passed to {@code mul(Number)}, say) lives in a direct buffer that the GC frees once its Java handle is closed;
 * if autograd saved that tensor, backward reads freed memory. The adapter's {@code scale ·} term did exactly that: its
 * gradients came out NaN or wrong whenever a collection fell between forward and backward. Each case runs the same
 * seeded training forward twice, lets the GC free every buffer it can in one of them, and compares every gradient of
 * A and B bit for bit.
 */
class LoraGradientsSurviveGcTest {
    private static final ModelConfig MODEL = TestModels.llama();
    private static final long[] IDS = {1, 5, 9, 3, 7, 2, 8, 4};
    private static final int DROPOUT_SEED = 7;
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

    @ParameterizedTest(name = "lora_dropout {0}")
    @ValueSource(doubles = {0, 0.05})
    void adapterGradientsAreTheSameWhenTheGcRunsBeforeBackward(double dropout) throws InterruptedException {
        LoraConfig lora = new LoraConfig(4, 8, dropout, EnumSet.allOf(LoraTarget.class), false);
        List<float[]> undisturbed = gradients(lora, false);
        List<float[]> collected = gradients(lora, true);
        assertEquals(undisturbed.size(), collected.size());
        for (int i = 0; i < undisturbed.size(); i++) {
            float[] g = undisturbed.get(i);
            boolean finite = true;
            boolean nonZero = false;
            for (float v : g) {
                finite &= Float.isFinite(v);
                nonZero |= v != 0;
            }
            assertTrue(finite && nonZero, "adapter tensor " + i + " has a usable gradient without the collection: "
                    + Arrays.toString(Arrays.copyOf(g, 8)));
            assertArrayEquals(g, collected.get(i), "adapter tensor " + i + "'s gradient changed when the GC ran before backward");
        }
    }

    private static List<float[]> gradients(LoraConfig lora, boolean collectBeforeBackward) throws InterruptedException {
        try (LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, TestAdapters.random(lora, MODEL, 2, 0.3), manager);
             CausalLM model = new CausalLM(MODEL, base)) {
            model.setAdapter(adapter);
            adapter.parameters().forEach(p -> p.setRequiresGradient(true));
            Engine.getInstance().setRandomSeed(DROPOUT_SEED); // the same dropout masks in both runs
            try (NDManager m = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                long[] pos = new long[IDS.length];
                Arrays.setAll(pos, i -> i);
                NDArray out = model.logits(model.forward(m.create(IDS), m.create(pos), new DenseCausalContext(1, IDS.length)));
                NDArray loss = out.logSoftmax(-1).sum();
                if (collectBeforeBackward) {
                    UnreachableBuffers.free();
                }
                gc.backward(loss);
            }
            return adapter.parameters().stream().map(p -> p.getGradient().toFloatArray()).toList();
        }
    }
}
