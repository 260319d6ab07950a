package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ModelConfigTest {

    @Test
    void readsALlama3ConfigWithRopeScalingAndSeveralEosIds() {
        ModelConfig c = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
                 "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "rms_norm_eps": 1e-05,
                 "rope_theta": 500000.0, "tie_word_embeddings": true, "max_position_embeddings": 131072,
                 "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                 "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu"}
                """);
        assertEquals(8, c.numKvHeads());
        assertEquals(64, c.headDim());
        assertEquals(new ModelConfig.RopeScaling(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
    }

    @Test
    void qwen2HasQkvBiasAndQwen3HasQkNorm() {
        String common = "\"vocab_size\": 1000, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2,"
                + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"eos_token_id\": 7";
        ModelConfig qwen2 = ModelConfig.parse("{\"model_type\": \"qwen2\", " + common + "}");
        ModelConfig qwen3 = ModelConfig.parse("{\"model_type\": \"qwen3\", \"head_dim\": 32, " + common + "}");
        assertTrue(qwen2.attentionBias());
        assertFalse(qwen2.qkNorm());
        assertTrue(qwen3.qkNorm());
        assertEquals(32, qwen3.headDim(), "Qwen3 states head_dim apart from hidden_size / heads");
        assertEquals(16, qwen2.headDim(), "head_dim defaults to hidden_size / heads");
    }

    @Test
    void writesAConfigThatReadsBackTheSame() {
        ModelConfig c = TestModels.llama3Scaled();
        assertEquals(c, ModelConfig.parse(c.toJson()));
        assertNull(ModelConfig.parse(TestModels.llama().toJson()).ropeScaling());
    }

    @Test
    void refusesAnUnsupportedArchitectureNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"vocab_size\": 50257}"));
        assertTrue(e.getMessage().contains("gpt2") && e.getMessage().contains("GPT2LMHeadModel"), e.getMessage());
    }

    @Test
    void refusesAMultimodalConfigSayingWhatItFound() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "{\"architectures\": [\"Qwen2VLForConditionalGeneration\"], \"model_type\": \"qwen2_vl\","
                        + " \"vision_config\": {\"depth\": 32}}"));
        assertTrue(e.getMessage().contains("multimodal") && e.getMessage().contains("vision_config"), e.getMessage());
    }

    @Test
    void refusesMissingSizesAndInconsistentHeads() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse("{\"model_type\": \"llama\"}"))
                .getMessage().contains("hidden_size"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "{\"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 64, \"intermediate_size\": 8,"
                        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}"))
                .getMessage().contains("num_key_value_heads"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse("not json"))
                .getMessage().contains("not valid JSON"));
    }

    @Test
    void refusesUnsupportedRopeScaling() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(
                "{\"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 64, \"intermediate_size\": 8,"
                        + " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"rope_scaling\": {\"type\": \"yarn\"}}"));
        assertTrue(e.getMessage().contains("yarn"), e.getMessage());
    }
}
