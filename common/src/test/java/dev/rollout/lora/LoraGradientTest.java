package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
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
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Autograd's gradients of A and B against central finite differences of the same scalar loss. */
class LoraGradientTest {
    private static final ModelConfig MODEL = TestModels.llama();
    private static final LoraConfig LORA = new LoraConfig(3, 6, 0, EnumSet.allOf(LoraTarget.class), false);
    private static final int[] TOKENS = {5, 17, 3, 88, 41, 9, 60, 2};
    private static NDManager manager;
    private static ModelWeights base;
    private static float[] lossWeights;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
        base = ModelWeights.fromHost(MODEL, TestModels.mapOf(TestModels.randomWeights(MODEL, 21, 0.2)), manager);
        SplittableRandom rng = new SplittableRandom(4);
        lossWeights = new float[TOKENS.length * MODEL.vocabSize()];
        for (int i = 0; i < lossWeights.length; i++) {
            lossWeights[i] = (float) (rng.nextDouble() * 2 - 1);
        }
    }

    @AfterAll
    static void stop() {
        base.close();
        manager.close();
    }

    /** sum(logits · c) for fixed random c: every logit matters, so every entry of A and B has a gradient. */
    private static NDArray loss(CausalLM model, NDManager m) {
        long[] ids = new long[TOKENS.length];
        long[] pos = new long[TOKENS.length];
        for (int i = 0; i < TOKENS.length; i++) {
            ids[i] = TOKENS[i];
            pos[i] = i;
        }
        NDArray logits = model.logits(model.forward(m.create(ids), m.create(pos), new DenseCausalContext(1, TOKENS.length)));
        return logits.mul(m.create(lossWeights).reshape(logits.getShape())).sum();
    }

    private static double lossAt(Map<String, HostTensor> adapterHost) {
        boolean mode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try (LoraAdapter adapter = LoraAdapter.fromHost(LORA, MODEL, adapterHost, manager);
             CausalLM model = new CausalLM(MODEL, base); NDManager m = manager.newSubManager()) {
            model.setAdapter(adapter);
            return loss(model, m).getFloat();
        } finally {
            JniUtils.setGradMode(mode);
        }
    }

    @Test
    void gradientsOfAAndBMatchFiniteDifferences() {
        Map<String, HostTensor> host = TestAdapters.random(LORA, MODEL, 13, 0.3);
        Map<String, float[]> analytic = new LinkedHashMap<>();
        try (LoraAdapter adapter = LoraAdapter.fromHost(LORA, MODEL, host, manager);
             CausalLM model = new CausalLM(MODEL, base); NDManager m = manager.newSubManager()) {
            model.setAdapter(adapter);
            adapter.parameters().forEach(p -> p.setRequiresGradient(true));
            try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                collector.backward(loss(model, m));
            }
            List<HostTensor> names = adapter.toHost();
            List<NDArray> params = adapter.parameters();
            for (int i = 0; i < params.size(); i++) {
                analytic.put(names.get(i).name(), params.get(i).getGradient().toFloatArray());
            }
        }
        List<String> checked = List.of(
                LoraAdapter.tensorName(0, LoraTarget.Q_PROJ, true), LoraAdapter.tensorName(0, LoraTarget.Q_PROJ, false),
                LoraAdapter.tensorName(0, LoraTarget.V_PROJ, false), LoraAdapter.tensorName(1, LoraTarget.O_PROJ, true),
                LoraAdapter.tensorName(1, LoraTarget.UP_PROJ, false), LoraAdapter.tensorName(1, LoraTarget.DOWN_PROJ, true));
        SplittableRandom rng = new SplittableRandom(7);
        double eps = 1e-2;
        for (String name : checked) {
            for (int trial = 0; trial < 3; trial++) {
                HostTensor t = host.get(name);
                float[] values = t.toFloats();
                int at = rng.nextInt(values.length);
                double numeric = (lossAt(with(host, name, values, at, eps)) - lossAt(with(host, name, values, at, -eps))) / (2 * eps);
                double got = analytic.get(name)[at];
                double error = Math.abs(got - numeric) / Math.max(0.05, Math.abs(numeric));
                assertTrue(error < 2e-2, name + "[" + at + "]: autograd " + got + ", finite differences " + numeric);
            }
        }
        assertTrue(analytic.values().stream().allMatch(g -> g.length > 0));
    }

    private static Map<String, HostTensor> with(Map<String, HostTensor> host, String name, float[] values, int at, double delta) {
        float[] changed = values.clone();
        changed[at] += (float) delta;
        Map<String, HostTensor> out = new LinkedHashMap<>(host);
        out.put(name, HostTensor.ofFloats(name, host.get(name).shape(), changed));
        return out;
    }
}
