package dev.rollout.lora;

import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Adapters with non-zero B (a trained one, as far as the math cares) and merges done by hand in float64, for tests. */
public final class TestAdapters {
    private TestAdapters() {}

    /** Uniform(±std) A and B for every tensor the config asks for, deterministic in the seed. */
    public static Map<String, HostTensor> random(LoraConfig lora, ModelConfig model, long seed, double std) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (ModelWeights.TensorShape s : LoraAdapter.expectedTensors(lora, model)) {
            float[] v = new float[(int) HostTensor.numElements(s.shape())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((rng.nextDouble() * 2 - 1) * std);
            }
            out.put(s.name(), HostTensor.ofFloats(s.name(), s.shape(), v));
        }
        return out;
    }

    /** {@code W + scale · B · A} for each adapted Hugging Face weight, computed in float64 from the host tensors. */
    public static List<HostTensor> mergeByHand(List<HostTensor> base, LoraConfig lora, Map<String, HostTensor> adapter) {
        List<HostTensor> out = new ArrayList<>();
        for (HostTensor w : base) {
            String name = w.name();
            String a = "base_model.model." + name.replace(".weight", ".lora_A.weight");
            String b = "base_model.model." + name.replace(".weight", ".lora_B.weight");
            if (!adapter.containsKey(a)) {
                out.add(w);
                continue;
            }
            float[] wv = w.toFloats();
            float[] av = adapter.get(a).toFloats();
            float[] bv = adapter.get(b).toFloats();
            int rows = (int) w.shape()[0];
            int cols = (int) w.shape()[1];
            int r = lora.r();
            float[] merged = new float[wv.length];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    double d = 0;
                    for (int k = 0; k < r; k++) {
                        d += (double) bv[i * r + k] * av[k * cols + j];
                    }
                    merged[i * cols + j] = (float) (wv[i * cols + j] + lora.scale() * d);
                }
            }
            out.add(HostTensor.ofFloats(name, w.shape(), merged));
        }
        return out;
    }
}
