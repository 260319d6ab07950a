package dev.rollout.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The shape of a Llama-family decoder read from a Hugging Face {@code config.json}: Llama 2/3 (with {@code llama3}
 * rope scaling), Mistral without sliding window, Qwen2 (q/k/v bias), Qwen3 (q/k RMSNorm), SmolLM, TinyLlama.
 */
public record ModelConfig(
        String architecture,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        boolean attentionBias,
        boolean qkNorm,
        List<Integer> eosTokenIds,
        Integer bosTokenId,
        String torchDtype) {

    /** Llama 3 style frequency scaling; {@code null} in {@link ModelConfig#ropeScaling()} means none. */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> SUPPORTED_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3");

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        require(vocabSize > 0, "vocab_size must be positive, got " + vocabSize);
        require(hiddenSize > 0, "hidden_size must be positive, got " + hiddenSize);
        require(intermediateSize > 0, "intermediate_size must be positive, got " + intermediateSize);
        require(numLayers > 0, "num_hidden_layers must be positive, got " + numLayers);
        require(numHeads > 0, "num_attention_heads must be positive, got " + numHeads);
        require(numKvHeads > 0 && numHeads % numKvHeads == 0,
                "num_key_value_heads (" + numKvHeads + ") must divide num_attention_heads (" + numHeads + ")");
        require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even, got " + headDim);
        require(maxPositionEmbeddings > 0, "max_position_embeddings must be positive, got " + maxPositionEmbeddings);
    }

    public static ModelConfig load(Path configJson) throws IOException {
        try {
            return parse(Files.readString(configJson));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("config.json is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config.json must be a JSON object");
        }
        for (String multimodal : List.of("vision_config", "audio_config", "text_config", "image_token_index", "mm_tokens_per_image")) {
            if (root.has(multimodal)) {
                throw new IllegalArgumentException("multimodal models are not supported (config.json has '" + multimodal
                        + "'; architectures " + root.path("architectures") + "). Rollout serves text-only decoders of the Llama family.");
            }
        }
        String modelType = root.path("model_type").asText("");
        String architecture = root.path("architectures").path(0).asText("");
        if (!SUPPORTED_TYPES.contains(modelType)) {
            throw new IllegalArgumentException("unsupported model_type '" + modelType + "' (architectures "
                    + root.path("architectures") + "); supported: llama, mistral, qwen2, qwen3 (Llama 2/3, SmolLM, TinyLlama, Qwen2/3)");
        }
        if (root.path("sliding_window").isNumber() && root.path("use_sliding_window").asBoolean(modelType.equals("mistral"))) {
            throw new IllegalArgumentException("sliding-window attention is not supported (sliding_window="
                    + root.get("sliding_window") + ")");
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException("unsupported hidden_act '" + act + "' (only silu)");
        }
        int hidden = requiredInt(root, "hidden_size");
        int heads = requiredInt(root, "num_attention_heads");
        int kvHeads = root.path("num_key_value_heads").isNumber() ? root.get("num_key_value_heads").asInt() : heads;
        int headDim = root.path("head_dim").isNumber() ? root.get("head_dim").asInt() : hidden / heads;
        RopeScaling scaling = parseRopeScaling(root.path("rope_scaling"));
        boolean bias = modelType.equals("qwen2") || root.path("attention_bias").asBoolean(false);
        boolean qkNorm = modelType.equals("qwen3");
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.path("eos_token_id");
        if (eosNode.isArray()) {
            eosNode.forEach(n -> eos.add(n.asInt()));
        } else if (eosNode.isNumber()) {
            eos.add(eosNode.asInt());
        }
        Integer bos = root.path("bos_token_id").isNumber() ? root.get("bos_token_id").asInt() : null;
        return new ModelConfig(
                architecture.isEmpty() ? defaultArchitecture(modelType) : architecture,
                modelType,
                requiredInt(root, "vocab_size"),
                hidden,
                requiredInt(root, "intermediate_size"),
                requiredInt(root, "num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                root.path("rms_norm_eps").asDouble(1e-6),
                root.path("rope_theta").asDouble(10000.0),
                scaling,
                root.path("tie_word_embeddings").asBoolean(false),
                root.path("max_position_embeddings").asInt(2048),
                bias,
                qkNorm,
                eos,
                bos,
                root.path("torch_dtype").asText("float32"));
    }

    private static RopeScaling parseRopeScaling(JsonNode node) {
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        String type = node.path("rope_type").asText(node.path("type").asText(""));
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new IllegalArgumentException("unsupported rope_scaling type '" + type + "' (supported: llama3)");
        }
        return new RopeScaling(
                node.path("factor").asDouble(8.0),
                node.path("low_freq_factor").asDouble(1.0),
                node.path("high_freq_factor").asDouble(4.0),
                node.path("original_max_position_embeddings").asInt(8192));
    }

    private static int requiredInt(JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw new IllegalArgumentException("config.json lacks the integer '" + key + "'");
        }
        return n.asInt();
    }

    private static String defaultArchitecture(String modelType) {
        return switch (modelType) {
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            default -> "LlamaForCausalLM";
        };
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Renders a {@code config.json} that Hugging Face transformers and {@link #parse} both accept. */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(architecture);
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numLayers);
        o.put("num_attention_heads", numHeads);
        o.put("num_key_value_heads", numKvHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", ropeScaling.factor());
            s.put("low_freq_factor", ropeScaling.lowFreqFactor());
            s.put("high_freq_factor", ropeScaling.highFreqFactor());
            s.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        if (modelType.equals("llama") || modelType.equals("mistral")) {
            o.put("attention_bias", attentionBias);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else {
            ArrayNode a = o.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        o.put("torch_dtype", torchDtype);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public int qSize() {
        return numHeads * headDim;
    }

    public int kvSize() {
        return numKvHeads * headDim;
    }

    /** Parameters in the model (embedding counted once when tied). */
    public long parameterCount() {
        long perLayer = (long) hiddenSize * (qSize() + 2L * kvSize()) + (long) qSize() * hiddenSize
                + 3L * hiddenSize * intermediateSize + 2L * hiddenSize
                + (attentionBias ? qSize() + 2L * kvSize() : 0) + (qkNorm ? 2L * headDim : 0);
        long embed = (long) vocabSize * hiddenSize;
        return embed + (tieWordEmbeddings ? 0 : embed) + numLayers * perLayer + hiddenSize;
    }

    /** Bytes of K and V for one token across all layers in fp32. */
    public long kvBytesPerToken() {
        return 2L * numLayers * kvSize() * 4;
    }
}
