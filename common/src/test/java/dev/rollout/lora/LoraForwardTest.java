package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.ReferenceModel;
import dev.rollout.model.TestModels;
import dev.rollout.weights.HostTensor;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The adapted forward {@code x W^T + scale · (x A^T) B^T}: where it starts, what it equals, and its gradients. */
class LoraForwardTest {
    private static final ModelConfig MODEL = TestModels.qwen2();
    private static final LoraConfig ALL = new LoraConfig(4, 8, 0.05, EnumSet.allOf(LoraTarget.class), false);
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    private static int[] tokens(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(MODEL.vocabSize());
        }
        return t;
    }

    private static float[] logits(CausalLM model, int[] tokens, NDManager m) {
        long[] ids = new long[tokens.length];
        long[] pos = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
            pos[i] = i;
        }
        NDArray hidden = model.forward(m.create(ids), m.create(pos), new DenseCausalContext(1, tokens.length));
        return model.logits(hidden).toFloatArray();
    }

    @Test
    void freshAdapterGivesExactlyTheBaseLogitsEvenWithDropoutInTraining() {
        List<HostTensor> host = TestModels.randomWeights(MODEL, 3, 0.2);
        int[] t = tokens(20, 1);
        try (ModelWeights w = ModelWeights.fromHost(MODEL, TestModels.mapOf(host), manager);
             CausalLM base = new CausalLM(MODEL, w); CausalLM adapted = new CausalLM(MODEL, w);
             LoraAdapter adapter = LoraAdapter.initialize(ALL, MODEL, 42, manager);
             NDManager m = manager.newSubManager()) {
            adapted.setAdapter(adapter);
            boolean mode = JniUtils.isGradMode();
            JniUtils.setGradMode(true); // the training forward, where dropout is on
            try {
                assertArrayEquals(logits(base, t, m), logits(adapted, t, m));
            } finally {
                JniUtils.setGradMode(mode);
            }
        }
    }

    @Test
    void initialisationIsKaimingUniformForAAndZeroForB() {
        try (LoraAdapter adapter = LoraAdapter.initialize(ALL, MODEL, 42, manager)) {
            for (LoraTarget target : LoraTarget.values()) {
                NDArray[] ab = adapter.tensors(1, target);
                double bound = 1 / Math.sqrt(target.inFeatures(MODEL));
                float[] a = ab[0].toFloatArray();
                double sumSq = 0;
                for (float v : a) {
                    assertTrue(Math.abs(v) <= bound, target + ": " + v + " outside ±" + bound);
                    sumSq += v * v;
                }
                // uniform(±bound) has std bound/sqrt(3)
                assertEquals(bound / Math.sqrt(3), Math.sqrt(sumSq / a.length), 0.25 * bound / Math.sqrt(3), target.toString());
                for (float v : ab[1].toFloatArray()) {
                    assertEquals(0f, v, target.toString());
                }
            }
        }
    }

    @Test
    void adaptedForwardEqualsAFloat64ForwardOfTheMergedWeights() {
        List<HostTensor> host = TestModels.randomWeights(MODEL, 5, 0.2);
        LoraConfig lora = new LoraConfig(3, 6, 0, LoraConfig.parseTargets(List.of("q_proj", "v_proj", "o_proj", "up_proj", "down_proj")), true);
        Map<String, HostTensor> adapterHost = TestAdapters.random(lora, MODEL, 9, 0.3);
        int[] t = tokens(17, 2);
        double[][] expected = new ReferenceModel(MODEL, TestAdapters.mergeByHand(host, lora, adapterHost)).logits(t);
        double[][] baseOnly = new ReferenceModel(MODEL, host).logits(t);
        try (ModelWeights w = ModelWeights.fromHost(MODEL, TestModels.mapOf(host), manager);
             CausalLM model = new CausalLM(MODEL, w);
             LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, adapterHost, manager);
             NDManager m = manager.newSubManager()) {
            model.setAdapter(adapter);
            float[] got = logits(model, t, m);
            double worst = 0;
            double moved = 0;
            int v = MODEL.vocabSize();
            for (int i = 0; i < t.length; i++) {
                for (int k = 0; k < v; k++) {
                    worst = Math.max(worst, Math.abs(got[i * v + k] - expected[i][k]) / Math.max(1, Math.abs(expected[i][k])));
                    moved = Math.max(moved, Math.abs(expected[i][k] - baseOnly[i][k]));
                }
            }
            assertTrue(moved > 0.1, "the adapter should change the logits, max change " + moved);
            assertTrue(worst <= 1e-4, "max relative error " + worst);
        }
    }

    @Test
    void mergedWeightsForwardEqualsTheAdaptedForward() {
        List<HostTensor> host = TestModels.randomWeights(MODEL, 6, 0.2);
        LoraConfig lora = new LoraConfig(4, 16, 0, EnumSet.allOf(LoraTarget.class), false);
        int[] t = tokens(12, 4);
        try (ModelWeights w = ModelWeights.fromHost(MODEL, TestModels.mapOf(host), manager);
             CausalLM adapted = new CausalLM(MODEL, w);
             LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, TestAdapters.random(lora, MODEL, 1, 0.2), manager);
             ModelWeights merged = LoraMerge.merge(w, adapter, manager);
             CausalLM dense = new CausalLM(MODEL, merged);
             NDManager m = manager.newSubManager()) {
            adapted.setAdapter(adapter);
            float[] a = logits(adapted, t, m);
            float[] b = logits(dense, t, m);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * Math.max(1, Math.abs(a[i])), "logit " + i);
            }
        }
    }

    @Test
    void mergingLeavesTheBaseUntouched() {
        List<HostTensor> host = TestModels.randomWeights(MODEL, 8, 0.2);
        LoraConfig lora = new LoraConfig(2, 4, 0, Set.of(LoraTarget.Q_PROJ, LoraTarget.GATE_PROJ), false);
        try (ModelWeights w = ModelWeights.fromHost(MODEL, TestModels.mapOf(host), manager);
             LoraAdapter adapter = LoraAdapter.fromHost(lora, MODEL, TestAdapters.random(lora, MODEL, 2, 0.5), manager);
             ModelWeights merged = LoraMerge.merge(w, adapter, manager)) {
            List<HostTensor> after = w.toHost();
            for (int i = 0; i < host.size(); i++) {
                assertArrayEquals(host.get(i).toFloats(), after.get(i).toFloats(), host.get(i).name());
            }
            assertTrue(merged.layers().get(0).qkv().sub(w.layers().get(0).qkv()).abs().max().getFloat() > 0);
        }
    }
}
