package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.rollout.weights.HostTensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelWeightsTest {
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void aTensorOfTheWrongShapeIsRefusedNamingItAndBothShapes() {
        ModelConfig c = TestModels.llama();
        Map<String, HostTensor> tensors = TestModels.mapOf(TestModels.randomWeights(c, 1, 0.1));
        tensors.put("model.layers.1.mlp.up_proj.weight",
                HostTensor.ofFloats("model.layers.1.mlp.up_proj.weight", new long[] {48, 80}, new float[48 * 80]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelWeights.fromHost(c, tensors, manager));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.up_proj.weight") && e.getMessage().contains("[48, 80]")
                && e.getMessage().contains("[80, 48]"), e.getMessage());
    }

    @Test
    void aMissingTensorIsRefusedNamingIt() {
        ModelConfig c = TestModels.qwen2();
        Map<String, HostTensor> tensors = TestModels.mapOf(TestModels.randomWeights(c, 1, 0.1));
        tensors.remove("model.layers.0.self_attn.k_proj.bias");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelWeights.fromHost(c, tensors, manager));
        assertTrue(e.getMessage().contains("missing tensor 'model.layers.0.self_attn.k_proj.bias'"), e.getMessage());
    }

    @Test
    void anUnknownTensorIsRefusedNamingIt() {
        ModelConfig c = TestModels.llama();
        Map<String, HostTensor> tensors = TestModels.mapOf(TestModels.randomWeights(c, 1, 0.1));
        tensors.put("model.layers.7.mlp.up_proj.weight", HostTensor.ofFloats("model.layers.7.mlp.up_proj.weight",
                new long[] {1}, new float[1]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelWeights.fromHost(c, tensors, manager));
        assertTrue(e.getMessage().contains("unknown tensor 'model.layers.7.mlp.up_proj.weight'"), e.getMessage());
    }

    @Test
    void theExpectedTensorsFollowTheFamily() {
        List<String> qwen3 = ModelWeights.expectedTensors(TestModels.qwen3()).stream().map(ModelWeights.TensorShape::name).toList();
        assertTrue(qwen3.contains("model.layers.0.self_attn.q_norm.weight"));
        assertTrue(!qwen3.contains("lm_head.weight"), "tied embeddings have no separate head");
        List<String> llama = ModelWeights.expectedTensors(TestModels.llama()).stream().map(ModelWeights.TensorShape::name).toList();
        assertTrue(llama.contains("lm_head.weight") && !llama.contains("model.layers.0.self_attn.q_proj.bias"));
    }

    @Test
    void aPartialReplacementEqualsARebuildWithTheSentTensorsSwappedIn() {
        for (ModelConfig c : List.of(TestModels.llama(), TestModels.qwen2(), TestModels.qwen3())) {
            Map<String, HostTensor> before = TestModels.mapOf(TestModels.randomWeights(c, 1, 0.1));
            Map<String, HostTensor> after = TestModels.mapOf(TestModels.randomWeights(c, 2, 0.1));
            Map<String, HostTensor> sent = new java.util.LinkedHashMap<>();
            // one whole parameter, one part of each fused one (q/k/v, their bias where there is one, gate/up), a norm
            for (String name : List.of("model.embed_tokens.weight", "model.layers.0.self_attn.k_proj.weight",
                    "model.layers.1.mlp.up_proj.weight", "model.layers.0.self_attn.v_proj.bias", "model.norm.weight")) {
                if (after.containsKey(name)) {
                    sent.put(name, after.get(name));
                }
            }
            Map<String, HostTensor> expected = new java.util.LinkedHashMap<>(before);
            expected.putAll(sent);
            try (ModelWeights current = ModelWeights.fromHost(c, before, manager);
                 ModelWeights replaced = current.withReplaced(sent, manager);
                 ModelWeights rebuilt = ModelWeights.fromHost(c, expected, manager)) {
                List<HostTensor> got = replaced.toHost();
                List<HostTensor> want = rebuilt.toHost();
                for (int i = 0; i < want.size(); i++) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(want.get(i).toFloats(), got.get(i).toFloats(),
                            c.modelType() + " " + want.get(i).name());
                }
                org.junit.jupiter.api.Assertions.assertArrayEquals(before.get("model.layers.0.self_attn.q_proj.weight").toFloats(),
                        current.toHost().get(2).toFloats(), "the current weights are left as they were");
            }
        }
    }

    @Test
    void aPartialReplacementRefusesAnUnknownTensorNamingIt() {
        ModelConfig c = TestModels.llama();
        try (ModelWeights current = ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, 1, 0.1)), manager)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> current.withReplaced(
                    Map.of("model.layers.9.mlp.up_proj.weight", HostTensor.ofFloats("model.layers.9.mlp.up_proj.weight",
                            new long[] {80, 48}, new float[80 * 48])), manager));
            assertTrue(e.getMessage().contains("model.layers.9.mlp.up_proj.weight"), e.getMessage());
        }
    }
}
