package dev.rollout.lora;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.model.ModelConfig;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.SafetensorsReader;
import dev.rollout.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LoRA adapter on disk as PEFT's {@code save_pretrained} writes it: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} under PEFT's tensor names, so PEFT's {@code PeftModel.from_pretrained} loads what
 * we save and we load what it saves (plain LoRA: no DoRA, no bias, no modules_to_save, no regex targets).
 */
public final class PeftAdapterFiles {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftAdapterFiles() {}

    /** True when {@code dir} holds a saved adapter. */
    public static boolean isAdapterDir(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE)) && Files.isRegularFile(dir.resolve(WEIGHTS_FILE));
    }

    public static void write(Path dir, LoraAdapter adapter, String baseModelNameOrPath) throws IOException {
        Files.createDirectories(dir);
        LoraConfig c = adapter.config();
        ObjectNode json = JSON.createObjectNode();
        json.put("peft_type", "LORA");
        json.put("task_type", "CAUSAL_LM");
        json.put("base_model_name_or_path", baseModelNameOrPath);
        json.put("r", c.r());
        json.put("lora_alpha", c.alpha());
        json.put("lora_dropout", c.dropout());
        ArrayNode targets = json.putArray("target_modules");
        c.targetModuleNames().forEach(targets::add);
        json.put("use_rslora", c.useRslora());
        json.put("use_dora", false);
        json.put("bias", "none");
        json.put("fan_in_fan_out", false);
        json.put("init_lora_weights", true);
        json.put("inference_mode", true);
        json.putNull("modules_to_save");
        json.putNull("layers_to_transform");
        Files.writeString(dir.resolve(CONFIG_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), adapter.toHost(), SafetensorsWriter.PT_METADATA);
    }

    /** The adapter's hyper-parameters from {@code adapter_config.json}; what we cannot apply is an error naming it. */
    public static LoraConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " is not a PEFT adapter: it has no " + CONFIG_FILE);
        }
        JsonNode json = JSON.readTree(file.toFile());
        String type = json.path("peft_type").asText("");
        if (!"LORA".equals(type)) {
            throw new IOException(file + ": peft_type is '" + type + "'; only LORA adapters can be loaded");
        }
        if (json.path("use_dora").asBoolean(false)) {
            throw new IOException(file + ": use_dora is true; DoRA adapters are not supported");
        }
        if (!"none".equals(json.path("bias").asText("none"))) {
            throw new IOException(file + ": bias is '" + json.path("bias").asText() + "'; only bias: none is supported");
        }
        if (json.path("fan_in_fan_out").asBoolean(false)) {
            throw new IOException(file + ": fan_in_fan_out is true, which Llama-family linear layers never need");
        }
        JsonNode extra = json.path("modules_to_save");
        if (!extra.isMissingNode() && !extra.isNull() && !(extra.isArray() && extra.isEmpty())) {
            throw new IOException(file + ": modules_to_save " + extra + " is not supported (only LoRA tensors are loaded)");
        }
        JsonNode targets = json.path("target_modules");
        List<String> names = new ArrayList<>();
        if (targets.isArray()) {
            targets.forEach(t -> names.add(t.asText()));
        } else if (LoraConfig.ALL_LINEAR.equals(targets.asText())) {
            names.add(LoraConfig.ALL_LINEAR);
        } else {
            throw new IOException(file + ": target_modules " + targets + " must be a list of module names or \"all-linear\"");
        }
        try {
            return new LoraConfig(json.path("r").asInt(0), json.path("lora_alpha").asDouble(Double.NaN),
                    json.path("lora_dropout").asDouble(0), LoraConfig.parseTargets(names), json.path("use_rslora").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads a saved adapter for {@code model}.
     *
     * @throws IOException naming the file and what does not fit (a missing tensor, a shape the base does not have)
     */
    public static LoraAdapter read(Path dir, ModelConfig model, NDManager manager) throws IOException {
        LoraConfig config = readConfig(dir);
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " has " + CONFIG_FILE + " but no " + WEIGHTS_FILE);
        }
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            for (String name : r.names()) {
                tensors.put(name, r.get(name));
            }
            return LoraAdapter.fromHost(config, model, tensors, manager);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
