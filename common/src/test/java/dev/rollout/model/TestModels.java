package dev.rollout.model;

import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Small configurations of each supported family and random weights for them, for tests. */
public final class TestModels {
    /** The system property that picks the paged attention backend of the model and engine tests (CI runs both). */
    public static final String ATTENTION_BACKEND_PROPERTY = "rollout.test.attentionBackend";

    private TestModels() {}

    /** The paged attention backend these tests run on: {@value #ATTENTION_BACKEND_PROPERTY}, default auto. */
    public static AttentionBackend attentionBackend() {
        return AttentionBackend.parse(System.getProperty(ATTENTION_BACKEND_PROPERTY, "auto"));
    }

    public static ModelConfig llama() {
        return new ModelConfig("LlamaForCausalLM", "llama", 97, 48, 80, 2, 6, 2, 8, 1e-5, 10000.0, null, false, 256,
                false, false, List.of(2), 1, "float32");
    }

    public static ModelConfig llama3Scaled() {
        return new ModelConfig("LlamaForCausalLM", "llama", 97, 32, 64, 2, 4, 1, 8, 1e-5, 500000.0,
                new ModelConfig.RopeScaling(8.0, 1.0, 4.0, 64), true, 256, false, false, List.of(2, 3), 1, "float32");
    }

    public static ModelConfig qwen2() {
        return new ModelConfig("Qwen2ForCausalLM", "qwen2", 101, 32, 64, 2, 4, 2, 8, 1e-6, 1000000.0, null, true, 256,
                true, false, List.of(5), null, "float32");
    }

    public static ModelConfig qwen3() {
        return new ModelConfig("Qwen3ForCausalLM", "qwen3", 89, 32, 48, 2, 4, 2, 16, 1e-6, 1000000.0, null, true, 256,
                false, true, List.of(5), null, "float32");
    }

    /** Normal(0, std) matrices, norms near 1 (not exactly, so a swapped norm shows), deterministic in the seed. */
    public static List<HostTensor> randomWeights(ModelConfig c, long seed, double std) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<HostTensor> out = new ArrayList<>();
        for (ModelWeights.TensorShape s : ModelWeights.expectedTensors(c)) {
            float[] v = new float[(int) HostTensor.numElements(s.shape())];
            boolean norm = s.name().endsWith("norm.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? (float) (1 + 0.1 * gaussian(rng)) : (float) (std * gaussian(rng));
            }
            out.add(HostTensor.ofFloats(s.name(), s.shape(), v));
        }
        return out;
    }

    /** {@code n} values uniform in [-1, 1), deterministic in the seed. */
    public static float[] uniform(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }

    public static java.util.Map<String, HostTensor> mapOf(List<HostTensor> tensors) {
        java.util.Map<String, HostTensor> m = new java.util.LinkedHashMap<>();
        tensors.forEach(t -> m.put(t.name(), t));
        return m;
    }

    private static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble();
        double v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}
