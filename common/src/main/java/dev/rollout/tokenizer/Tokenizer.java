package dev.rollout.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tokenizer.template.ChatTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A checkpoint's tokenizer: {@code tokenizer.json} run by DJL's binding of Hugging Face tokenizers (no truncation, no
 * padding), with {@code tokenizer_config.json} deciding the special tokens and the chat template.
 *
 * <p>{@link #encode(String)} adds nothing the text does not contain, except a BOS token where
 * {@code tokenizer_config.json} sets {@code add_bos_token}. Text rendered by a chat template already carries its special
 * tokens as text; encode it with {@code encode(text, false)}, as transformers does.
 */
public final class Tokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final Map<String, Integer> ids;
    private final int vocabSize;
    private final boolean addBosToken;
    private final String bosToken;
    private final String eosToken;
    private final List<Integer> eosTokenIds;
    private final ChatTemplate chatTemplate;
    private final int maxBytesPerToken;

    private Tokenizer(HuggingFaceTokenizer hf, Map<String, Integer> ids, boolean addBosToken, String bosToken,
            String eosToken, List<Integer> eosTokenIds, ChatTemplate chatTemplate, int maxBytesPerToken) {
        this.hf = hf;
        this.maxBytesPerToken = maxBytesPerToken;
        this.ids = ids;
        this.vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.addBosToken = addBosToken;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.eosTokenIds = List.copyOf(eosTokenIds);
        this.chatTemplate = chatTemplate;
    }

    /**
     * Loads {@code tokenizer.json} from {@code dir}, with {@code tokenizer_config.json} if present. EOS ids are the union
     * of the tokenizer config's {@code eos_token} and the {@code eos_token_id} of {@code config.json} and
     * {@code generation_config.json} (models such as Llama 3 Instruct and Qwen2.5 list their end-of-turn token only in
     * some of these). A {@code chat_template.jinja} file takes precedence over the config's {@code chat_template}.
     */
    public static Tokenizer load(Path dir) throws IOException {
        Path tokenizerJson = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IOException(dir + " has no tokenizer.json (only Hugging Face fast tokenizers are supported;"
                    + " a tokenizer.model/vocab.json checkpoint must be converted with transformers first)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new IOException(tokenizerJson + " is not valid JSON: " + e.getMessage(), e);
        }
        Map<String, Integer> ids = vocabulary(tokenizerJson, root);
        JsonNode config = readOptional(dir.resolve("tokenizer_config.json"));
        String bos = tokenText(config.path("bos_token"));
        String eos = tokenText(config.path("eos_token"));

        Set<Integer> eosIds = new LinkedHashSet<>();
        if (eos != null) {
            eosIds.add(requireToken(ids, eos, dir, "eos_token"));
        }
        addIds(eosIds, readOptional(dir.resolve("config.json")).path("eos_token_id"));
        addIds(eosIds, readOptional(dir.resolve("generation_config.json")).path("eos_token_id"));
        boolean addBos = config.path("add_bos_token").asBoolean(false);
        if (bos != null) {
            requireToken(ids, bos, dir, "bos_token");
        } else if (addBos) {
            throw new IOException(dir.resolve("tokenizer_config.json") + " sets add_bos_token but names no bos_token");
        }

        Map<String, String> specials = new HashMap<>();
        for (String key : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            String text = tokenText(config.path(key));
            if (text != null) {
                specials.put(key, text);
            }
        }
        ChatTemplate template = chatTemplateSource(dir, config).map(s -> new ChatTemplate(s, specials)).orElse(null);

        Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(tokenizerJson, options);
        return new Tokenizer(hf, ids, addBos, bos, eos, new ArrayList<>(eosIds), template,
                TokenLengthBound.bytesPerToken(root, ids.keySet()));
    }

    /** Token ids of the text, with BOS first only where the tokenizer config asks for it. */
    public int[] encode(String text) {
        return encode(text, addBosToken);
    }

    /** Token ids of the text, with BOS first if {@code addBos}; special tokens written in the text are recognised. */
    public int[] encode(String text, boolean addBos) {
        long[] raw = hf.encode(text, false, false).getIds();
        int offset = addBos ? 1 : 0;
        int[] out = new int[raw.length + offset];
        if (addBos) {
            out[0] = bosTokenId().orElseThrow(() -> new IllegalStateException("this tokenizer has no BOS token"));
        }
        for (int i = 0; i < raw.length; i++) {
            out[i + offset] = (int) raw[i];
        }
        return out;
    }

    public String decode(int[] tokenIds, boolean skipSpecialTokens) {
        long[] raw = new long[tokenIds.length];
        for (int i = 0; i < tokenIds.length; i++) {
            if (tokenIds[i] < 0 || tokenIds[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + tokenIds[i] + " is outside the vocabulary [0, " + vocabSize + ")");
            }
            raw[i] = tokenIds[i];
        }
        return hf.decode(raw, skipSpecialTokens);
    }

    /**
     * The most UTF-8 bytes of text one token stands for, or 0 when this tokenizer's normalizer allows no bound: a text
     * of {@code b} bytes encodes to at least {@code ceil(b / maxBytesPerToken())} tokens.
     */
    public int maxBytesPerToken() {
        return maxBytesPerToken;
    }

    /** One more than the largest id of the vocabulary and the added tokens (the model's vocabulary may be larger). */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token string (a vocabulary entry in its stored form, or an added token such as {@code <|im_end|>}). */
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    public OptionalInt bosTokenId() {
        return bosToken == null ? OptionalInt.empty() : tokenId(bosToken);
    }

    public Optional<ChatTemplate> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    @Override
    public void close() {
        hf.close();
    }

    /** Vocabulary entries and added tokens by their text, read from tokenizer.json (DJL exposes no vocabulary). */
    private static Map<String, Integer> vocabulary(Path tokenizerJson, JsonNode root) throws IOException {
        Map<String, Integer> ids = new LinkedHashMap<>();
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) { // BPE, WordPiece, WordLevel
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                ids.put(e.getKey(), e.getValue().asInt());
            }
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = position
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).path(0).asText(), i);
            }
        } else {
            throw new IOException(tokenizerJson + " has no model.vocab");
        }
        for (JsonNode added : root.path("added_tokens")) {
            ids.put(added.path("content").asText(), added.path("id").asInt());
        }
        return ids;
    }

    private static Optional<String> chatTemplateSource(Path dir, JsonNode config) throws IOException {
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            return Optional.of(Files.readString(jinja));
        }
        JsonNode t = config.path("chat_template");
        if (t.isTextual()) {
            return Optional.of(t.asText());
        }
        if (t.isArray()) { // several named templates: transformers uses the one named "default"
            List<String> names = new ArrayList<>();
            for (JsonNode named : t) {
                if (named.path("name").asText().equals("default")) {
                    return Optional.of(named.path("template").asText());
                }
                names.add(named.path("name").asText());
            }
            throw new IOException(dir.resolve("tokenizer_config.json") + " has chat templates " + names
                    + " but none named 'default'");
        }
        return Optional.empty();
    }

    /** A special token as tokenizer_config.json writes it: a string, an AddedToken object, or null. */
    private static String tokenText(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isObject() && node.path("content").isTextual()) {
            return node.get("content").asText();
        }
        return null;
    }

    private static int requireToken(Map<String, Integer> ids, String token, Path dir, String key) throws IOException {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IOException(dir.resolve("tokenizer_config.json") + ": " + key + " '" + token
                    + "' is not in the vocabulary of tokenizer.json");
        }
        return id;
    }

    private static void addIds(Set<Integer> into, JsonNode node) {
        if (node.isArray()) {
            node.forEach(n -> into.add(n.asInt()));
        } else if (node.isIntegralNumber()) {
            into.add(node.asInt());
        }
    }

    private static JsonNode readOptional(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return JSON.missingNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
