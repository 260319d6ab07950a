package dev.rollout.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.ModelConfig;
import dev.rollout.weights.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RandomWeightsTest {
    private static Map<String, HostTensor> byName(List<HostTensor> tensors) {
        return tensors.stream().collect(Collectors.toMap(HostTensor::name, Function.identity()));
    }

    private static ModelConfig qwen(String type) {
        return ModelConfig.parse("{\"model_type\":\"" + type + "\",\"vocab_size\":64,\"hidden_size\":32,"
                + "\"intermediate_size\":48,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                + "\"head_dim\":8,\"tie_word_embeddings\":false,\"eos_token_id\":1}");
    }

    @Test
    void tiedLlamaHasHuggingFaceNamesAndNoLmHead() {
        Map<String, HostTensor> w = byName(RandomWeights.generate(ModelPresets.config("tiny"), 1));
        assertEquals(2 + 4 * 9, w.size()); // embedding, final norm, 9 per layer
        assertArrayEquals(new long[] {512, 128}, w.get("model.embed_tokens.weight").shape());
        assertArrayEquals(new long[] {128, 128}, w.get("model.layers.3.self_attn.q_proj.weight").shape());
        assertArrayEquals(new long[] {64, 128}, w.get("model.layers.3.self_attn.k_proj.weight").shape());
        assertArrayEquals(new long[] {64, 128}, w.get("model.layers.0.self_attn.v_proj.weight").shape());
        assertArrayEquals(new long[] {128, 128}, w.get("model.layers.0.self_attn.o_proj.weight").shape());
        assertArrayEquals(new long[] {384, 128}, w.get("model.layers.1.mlp.gate_proj.weight").shape());
        assertArrayEquals(new long[] {384, 128}, w.get("model.layers.1.mlp.up_proj.weight").shape());
        assertArrayEquals(new long[] {128, 384}, w.get("model.layers.2.mlp.down_proj.weight").shape());
        assertArrayEquals(new long[] {128}, w.get("model.layers.2.input_layernorm.weight").shape());
        assertArrayEquals(new long[] {128}, w.get("model.layers.2.post_attention_layernorm.weight").shape());
        assertArrayEquals(new long[] {128}, w.get("model.norm.weight").shape());
        assertFalse(w.containsKey("lm_head.weight"));
    }

    @Test
    void qwen2HasQkvBiasesAndQwen3HasQkNorms() {
        Map<String, HostTensor> q2 = byName(RandomWeights.generate(qwen("qwen2"), 1));
        assertArrayEquals(new long[] {32}, q2.get("model.layers.1.self_attn.q_proj.bias").shape());
        assertArrayEquals(new long[] {16}, q2.get("model.layers.1.self_attn.k_proj.bias").shape());
        assertArrayEquals(new long[] {16}, q2.get("model.layers.1.self_attn.v_proj.bias").shape());
        assertFalse(q2.containsKey("model.layers.1.self_attn.o_proj.bias"));
        assertArrayEquals(new long[] {64, 32}, q2.get("lm_head.weight").shape());

        Map<String, HostTensor> q3 = byName(RandomWeights.generate(qwen("qwen3"), 1));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, q3.get("model.layers.0.self_attn.q_norm.weight").toFloats());
        assertArrayEquals(new long[] {8}, q3.get("model.layers.0.self_attn.k_norm.weight").shape());
        assertFalse(q3.containsKey("model.layers.0.self_attn.q_proj.bias"));
    }

    @Test
    void sameSeedGivesTheSameValuesAndAnotherSeedDifferentOnes() {
        ModelConfig c = ModelPresets.config("tiny");
        float[] a = byName(RandomWeights.generate(c, 7)).get("model.layers.0.mlp.up_proj.weight").toFloats();
        float[] b = byName(RandomWeights.generate(c, 7)).get("model.layers.0.mlp.up_proj.weight").toFloats();
        float[] other = byName(RandomWeights.generate(c, 8)).get("model.layers.0.mlp.up_proj.weight").toFloats();
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, other));
    }

    @Test
    void tensorsOfTheSameShapeDrawDifferentValues() {
        Map<String, HostTensor> w = byName(RandomWeights.generate(ModelPresets.config("tiny"), 7));
        assertFalse(java.util.Arrays.equals(w.get("model.layers.0.mlp.up_proj.weight").toFloats(),
                w.get("model.layers.0.mlp.gate_proj.weight").toFloats()));
    }

    @Test
    void matricesAreNormalWithStandardDeviationTwoHundredthsAndNormsAreOne() {
        Map<String, HostTensor> w = byName(RandomWeights.generate(ModelPresets.config("tiny"), 3));
        float[] v = w.get("model.layers.0.mlp.down_proj.weight").toFloats(); // 49152 values
        double mean = 0;
        for (float x : v) mean += x;
        mean /= v.length;
        double var = 0;
        int within = 0;
        for (float x : v) {
            var += (x - mean) * (x - mean);
            if (Math.abs(x) < 0.02) within++;
        }
        double std = Math.sqrt(var / v.length);
        assertEquals(0, mean, 0.0005); // 5 standard errors (0.02 / sqrt(49152) = 0.00009)
        assertEquals(0.02, std, 0.0005);
        assertEquals(0.6827, within / (double) v.length, 0.01); // one-sigma mass of a normal
        for (float x : w.get("model.norm.weight").toFloats()) {
            assertTrue(x == 1f);
        }
    }
}
