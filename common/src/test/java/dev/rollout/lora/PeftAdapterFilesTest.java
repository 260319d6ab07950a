package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.TestModels;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.SafetensorsReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftAdapterFilesTest {
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
    void savedTensorsHavePeftsNamesAndShapes(@TempDir Path dir) throws IOException {
        ModelConfig c = TestModels.llama(); // hidden 48, intermediate 80, 6 heads of 8 (q 48), 2 kv heads (kv 16), 2 layers
        LoraConfig lora = new LoraConfig(5, 10, 0.05, LoraConfig.parseTargets(List.of("q_proj", "v_proj", "down_proj")), false);
        try (LoraAdapter adapter = LoraAdapter.initialize(lora, c, 1, manager)) {
            PeftAdapterFiles.write(dir, adapter, "some/base");
        }
        Map<String, long[]> expected = new HashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            String p = "base_model.model.model.layers." + layer + ".";
            expected.put(p + "self_attn.q_proj.lora_A.weight", new long[] {5, 48});
            expected.put(p + "self_attn.q_proj.lora_B.weight", new long[] {48, 5});
            expected.put(p + "self_attn.v_proj.lora_A.weight", new long[] {5, 48});
            expected.put(p + "self_attn.v_proj.lora_B.weight", new long[] {16, 5});
            expected.put(p + "mlp.down_proj.lora_A.weight", new long[] {5, 80});
            expected.put(p + "mlp.down_proj.lora_B.weight", new long[] {48, 5});
        }
        try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("adapter_model.safetensors"))) {
            assertEquals(expected.keySet(), new java.util.HashSet<>(r.names()));
            for (String name : r.names()) {
                assertArrayEquals(expected.get(name), r.get(name).shape(), name);
            }
        }
    }

    @Test
    void savedConfigHasPeftsKeys(@TempDir Path dir) throws IOException {
        LoraConfig lora = new LoraConfig(8, 16, 0.1, LoraConfig.parseTargets(List.of("all-linear")), true);
        try (LoraAdapter adapter = LoraAdapter.initialize(lora, TestModels.llama(), 1, manager)) {
            PeftAdapterFiles.write(dir, adapter, "/models/base");
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("LORA", json.get("peft_type").asText());
        assertEquals("CAUSAL_LM", json.get("task_type").asText());
        assertEquals(8, json.get("r").asInt());
        assertEquals(16.0, json.get("lora_alpha").asDouble());
        assertEquals(0.1, json.get("lora_dropout").asDouble());
        assertEquals("/models/base", json.get("base_model_name_or_path").asText());
        assertTrue(json.get("use_rslora").asBoolean());
        List<String> targets = new ArrayList<>();
        json.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets);
    }

    @Test
    void readGivesBackWhatWasWritten(@TempDir Path dir) throws IOException {
        ModelConfig c = TestModels.qwen3();
        LoraConfig lora = new LoraConfig(2, 4, 0, LoraConfig.parseTargets(List.of("k_proj", "gate_proj")), false);
        Map<String, HostTensor> tensors = TestAdapters.random(lora, c, 3, 0.5);
        try (LoraAdapter adapter = LoraAdapter.fromHost(lora, c, tensors, manager)) {
            PeftAdapterFiles.write(dir, adapter, "x");
        }
        try (LoraAdapter back = PeftAdapterFiles.read(dir, c, manager)) {
            assertEquals(lora, back.config());
            for (HostTensor t : back.toHost()) {
                assertArrayEquals(tensors.get(t.name()).toFloats(), t.toFloats(), t.name());
            }
        }
    }

    @Test
    void adapterWhoseShapesDoNotFitTheBaseIsRefusedNamingTheTensor(@TempDir Path dir) throws IOException {
        LoraConfig lora = new LoraConfig(2, 4, 0, LoraConfig.parseTargets(List.of("q_proj")), false);
        try (LoraAdapter adapter = LoraAdapter.initialize(lora, TestModels.llama(), 1, manager)) {
            PeftAdapterFiles.write(dir, adapter, "x");
        }
        IOException e = assertThrows(IOException.class, () -> PeftAdapterFiles.read(dir, TestModels.qwen2(), manager));
        assertTrue(e.getMessage().contains("q_proj.lora_A.weight"), e.getMessage());
    }

    @Test
    void nonLoraAdapterIsRefused(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"IA3\", \"target_modules\": [\"q_proj\"]}");
        IOException e = assertThrows(IOException.class, () -> PeftAdapterFiles.readConfig(dir));
        assertTrue(e.getMessage().contains("IA3"), e.getMessage());
    }

    @Test
    void unknownTargetModuleInTheConfigIsRefusedByName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"c_attn\"]}");
        IOException e = assertThrows(IOException.class, () -> PeftAdapterFiles.readConfig(dir));
        assertTrue(e.getMessage().contains("'c_attn'"), e.getMessage());
    }
}
