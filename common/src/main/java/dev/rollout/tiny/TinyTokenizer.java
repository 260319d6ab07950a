package dev.rollout.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The embedded model's tokenizer: GPT-2 style byte-level BPE, so any UTF-8 text round-trips exactly. The base vocabulary
 * is the 256 byte symbols (id = byte value), followed by merges learned deterministically from a small built-in English
 * corpus, then the ChatML special tokens. Digits are never merged, so numbers tokenize one digit per token (as Qwen's
 * tokenizer does), which keeps arithmetic tasks learnable for a tiny model.
 *
 * <p>The larger presets have larger vocabularies: {@link #write(Path, int)} keeps ids 0 to 511 as they are and fills the
 * rest with merges of two learned tokens, so every id the model can sample is a real token that decodes to text.
 */
public final class TinyTokenizer {
    public static final String END_OF_TEXT = "<|endoftext|>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final List<String> SPECIAL_TOKENS = List.of(END_OF_TEXT, IM_START, IM_END);

    /** Total vocabulary: 256 bytes + learned merges + 3 special tokens. */
    public static final int VOCAB_SIZE = 512;

    /** The ChatML template Hugging Face documents for ChatML models (a Qwen-style template without tools). */
    public static final String CHAT_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** GPT-2's pre-tokenization pattern, the one the ByteLevel pre-tokenizer applies with use_regex. */
    private static final Pattern GPT2_SPLIT =
            Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private static final String CORPUS = """
            The quick brown fox jumps over the lazy dog. A tiny model learns to answer short questions.
            What is the sum of two and three? The answer is five. What is the product of four and six?
            The answer is twenty four. Please think step by step, then give the final answer.
            You are a helpful assistant. The user asks a question and the assistant answers it.
            In this example, we count the numbers and add them together. If the result is correct, the reward is one;
            otherwise the reward is zero. Training repeats this many times, and the model gets better with each step.
            She said that they would meet at the station in the morning, but the train was late again.
            There are many ways to solve a problem: some are simple, others take more time and care.
            Here is a list of things to remember: write clearly, check your work, and explain your reasoning.
            When the weather is good, people like to walk in the park, read a book, or talk with their friends.
            Question: how many apples are left if you have ten and eat three? Answer: seven apples are left.
            This sentence is about the history of science, the nature of language, and the structure of the world.
            """;

    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyTokenizer() {}

    /** Writes the 512-token {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
    public static void write(Path dir) throws IOException {
        write(dir, VOCAB_SIZE);
    }

    /**
     * Writes a tokenizer of {@code vocabSize} tokens (at least {@link #VOCAB_SIZE}) into {@code dir}: the 512 tokens of
     * the tiny tokenizer with their ids, then merges of two learned tokens up to the size.
     */
    public static void write(Path dir, int vocabSize) throws IOException {
        if (vocabSize < VOCAB_SIZE) {
            throw new IllegalArgumentException("the tiny tokenizer has at least " + VOCAB_SIZE + " tokens, asked for " + vocabSize);
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tokenizerJson(vocabSize)) + "\n");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tokenizerConfig()) + "\n");
    }

    /** The id of a special token, e.g. {@code specialTokenId(IM_END)}. */
    public static int specialTokenId(String token) {
        int index = SPECIAL_TOKENS.indexOf(token);
        if (index < 0) {
            throw new IllegalArgumentException("'" + token + "' is not a special token of the tiny tokenizer " + SPECIAL_TOKENS);
        }
        return VOCAB_SIZE - SPECIAL_TOKENS.size() + index;
    }

    private static ObjectNode tokenizerJson(int vocabSize) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : SPECIAL_TOKENS) {
            ObjectNode t = added.addObject();
            t.put("id", specialTokenId(special));
            t.put("content", special);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        root.putNull("post_processor");
        root.set("decoder", byteLevel(false, true));

        Vocabulary vocab = extend(learn(VOCAB_SIZE - SPECIAL_TOKENS.size()), vocabSize - VOCAB_SIZE);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        vocab.ids.forEach(v::put);
        ArrayNode merges = model.putArray("merges");
        vocab.merges.forEach(merges::add);
        return root;
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", true);
        return n;
    }

    private static ObjectNode tokenizerConfig() {
        ObjectNode c = JSON.createObjectNode();
        c.put("add_bos_token", false);
        c.put("add_eos_token", false);
        ObjectNode decoder = c.putObject("added_tokens_decoder");
        for (String special : SPECIAL_TOKENS) {
            ObjectNode t = decoder.putObject(Integer.toString(specialTokenId(special)));
            t.put("content", special);
            t.put("lstrip", false);
            t.put("normalized", false);
            t.put("rstrip", false);
            t.put("single_word", false);
            t.put("special", true);
        }
        c.putNull("bos_token");
        c.put("eos_token", IM_END);
        c.put("pad_token", END_OF_TEXT);
        c.putNull("unk_token");
        c.put("chat_template", CHAT_TEMPLATE);
        c.put("clean_up_tokenization_spaces", false);
        c.put("model_max_length", 1024);
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        return c;
    }

    /** Token strings to ids, and merges in rank order. */
    private record Vocabulary(Map<String, Integer> ids, List<String> merges) {}

    /**
     * Byte-pair training on {@link #CORPUS} until the vocabulary has {@code size} entries: the most frequent pair
     * first, ties broken by the pair's text, so the result never changes.
     */
    private static Vocabulary learn(int size) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        String[] byteSymbol = byteSymbols();
        for (int b = 0; b < 256; b++) {
            ids.put(byteSymbol[b], b);
        }
        Map<List<String>, Integer> words = new HashMap<>();
        Matcher m = GPT2_SPLIT.matcher(CORPUS);
        while (m.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                symbols.add(byteSymbol[b & 0xff]);
            }
            words.merge(symbols, 1, Integer::sum);
        }
        List<String> merges = new ArrayList<>();
        while (ids.size() < size) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (Map.Entry<List<String>, Integer> w : words.entrySet()) {
                List<String> s = w.getKey();
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (!hasDigit(s.get(i)) && !hasDigit(s.get(i + 1))) {
                        pairCounts.merge(s.get(i) + " " + s.get(i + 1), w.getValue(), Integer::sum);
                    }
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> p : pairCounts.entrySet()) {
                if (p.getValue() > bestCount || (p.getValue() == bestCount && best != null && p.getKey().compareTo(best) < 0)) {
                    best = p.getKey();
                    bestCount = p.getValue();
                }
            }
            if (best == null) {
                throw new IllegalStateException("the tiny tokenizer's corpus has too few repeated pairs for "
                        + size + " tokens (reached " + ids.size() + ")");
            }
            merges.add(best);
            String left = best.substring(0, best.indexOf(' '));
            String right = best.substring(best.indexOf(' ') + 1);
            ids.putIfAbsent(left + right, ids.size());
            Map<List<String>, Integer> merged = new HashMap<>();
            words.forEach((s, count) -> merged.merge(applyMerge(s, left, right), count, Integer::sum));
            words = merged;
        }
        return new Vocabulary(ids, merges);
    }

    /**
     * Adds {@code extra} tokens after the special tokens (ids from {@link #VOCAB_SIZE} on), each the merge of two learned
     * tokens without digits, in a fixed order; their merges rank after the learned ones, so text the tiny tokenizer
     * splits one way may merge further, but digits stay one per token.
     */
    private static Vocabulary extend(Vocabulary learned, int extra) {
        if (extra == 0) {
            return learned;
        }
        List<String> base = learned.ids.keySet().stream().filter(t -> !hasDigit(t)).toList();
        Map<String, Integer> ids = new LinkedHashMap<>(learned.ids);
        // Added tokens keep their ids only when the model's vocabulary holds them (the tokenizers library numbers the
        // others after the vocabulary): past 512 there is no gap to leave for them.
        for (String special : SPECIAL_TOKENS) {
            ids.put(special, specialTokenId(special));
        }
        List<String> merges = new ArrayList<>(learned.merges);
        int next = VOCAB_SIZE;
        for (int i = 0; i < base.size() && next < VOCAB_SIZE + extra; i++) {
            for (int j = 0; j < base.size() && next < VOCAB_SIZE + extra; j++) {
                String merged = base.get(i) + base.get(j);
                if (!ids.containsKey(merged) && !SPECIAL_TOKENS.contains(merged)) {
                    ids.put(merged, next++);
                    merges.add(base.get(i) + " " + base.get(j));
                }
            }
        }
        if (next < VOCAB_SIZE + extra) {
            throw new IllegalArgumentException("the tiny tokenizer can grow to " + next + " tokens at most");
        }
        return new Vocabulary(ids, merges);
    }

    private static List<String> applyMerge(List<String> symbols, String left, String right) {
        List<String> out = new ArrayList<>(symbols.size());
        for (int i = 0; i < symbols.size(); i++) {
            if (i + 1 < symbols.size() && symbols.get(i).equals(left) && symbols.get(i + 1).equals(right)) {
                out.add(left + right);
                i++;
            } else {
                out.add(symbols.get(i));
            }
        }
        return out;
    }

    private static boolean hasDigit(String symbol) {
        return symbol.chars().anyMatch(c -> c >= '0' && c <= '9');
    }

    /**
     * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others map to code points from 256
     * on, so every byte has a visible, non-space symbol.
     */
    static String[] byteSymbols() {
        String[] symbols = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbols[b] = new String(Character.toChars(printable ? b : next++));
        }
        return symbols;
    }
}
