package dev.rollout.tiny;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Built-in model shapes selectable by name wherever a model is ({@code --model tiny}): {@code tiny}, the embedded
 * default model; {@code 30m} and {@code 135m}, the same architecture at benchmark sizes. All are made from a seed.
 *
 * <p>Every preset comes with the tiny tokenizer grown to its vocabulary ({@link #tokenizer}): 512 tokens for
 * {@code tiny}, 8192 and 49152 for the others, so every id the model can sample decodes.
 */
public final class ModelPresets {
    public static final List<String> NAMES = List.of("tiny", "30m", "135m");

    private static final List<Integer> EOS = List.of(
            TinyTokenizer.specialTokenId(TinyTokenizer.IM_END), TinyTokenizer.specialTokenId(TinyTokenizer.END_OF_TEXT));

    private ModelPresets() {}

    public static boolean isPreset(String name) {
        return NAMES.contains(name);
    }

    public static ModelConfig config(String name) {
        return switch (name) {
            // 853K parameters: trains in seconds on a CPU
            case "tiny" -> llama(TinyTokenizer.VOCAB_SIZE, 128, 384, 4, 4, 2, 32, 10_000, 1024);
            // 29.9M parameters: Llama proportions (GQA 4:1, SwiGLU at 3.25x hidden)
            case "30m" -> llama(8192, 512, 1664, 8, 8, 2, 64, 10_000, 2048);
            // SmolLM2-135M's shape: 134.5M parameters
            case "135m" -> llama(49152, 576, 1536, 30, 9, 3, 64, 100_000, 8192);
            default -> throw new IllegalArgumentException("unknown model preset '" + name + "' (presets: "
                    + String.join(", ", NAMES) + "; or give a checkpoint directory)");
        };
    }

    /**
     * Writes preset {@code name} with random weights from {@code seed} as a complete checkpoint directory
     * (config.json, model.safetensors, the tiny tokenizer) that {@link Checkpoint#open} and transformers both load.
     */
    public static Path materialize(String name, long seed, Path dir) throws IOException {
        ModelConfig config = config(name);
        Checkpoint.write(dir, config, RandomWeights.generate(config, seed), tokenizer(name));
        return dir;
    }

    /** Writes the tokenizer of preset {@code name}, the tiny tokenizer at the preset's vocabulary size, into a directory. */
    public static Checkpoint.TokenizerFiles tokenizer(String name) {
        int vocab = config(name).vocabSize();
        return d -> TinyTokenizer.write(d, vocab);
    }

    private static ModelConfig llama(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads,
            int headDim, double ropeTheta, int maxPositions) {
        return new ModelConfig("LlamaForCausalLM", "llama", vocab, hidden, intermediate, layers, heads, kvHeads, headDim,
                1e-5, ropeTheta, null, true, maxPositions, false, false, EOS, null, "float32");
    }
}
