package dev.rollout.bench;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.ModelConfig;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout-server bench checkpoint}: writes a preset's shape with random weights as a Hugging Face model
 * directory, so that another engine (converted from the same files) and ours run the very same weights. The shape
 * overrides exist because peers' published benchmarks use shapes of their own (e.g. 4 KV heads where {@code 30m} has 2).
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Write a random-weight checkpoint (config.json, model.safetensors, a tokenizer of the model's"
                + " vocabulary) in the Hugging Face layout, from a preset's shape with optional overrides.")
public final class CheckpointCommand implements Callable<Integer> {

    @Option(names = "--preset", defaultValue = "30m", paramLabel = "tiny|30m|135m",
            description = "The shape to start from. Default: ${DEFAULT-VALUE}.")
    String preset;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the random weights. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--num-kv-heads", paramLabel = "N",
            description = "Override num_key_value_heads (must divide the preset's attention heads).")
    Integer numKvHeads;

    @Option(names = "--intermediate-size", paramLabel = "N", description = "Override the MLP's intermediate_size.")
    Integer intermediateSize;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "The directory to write; it must not exist or be empty.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!ModelPresets.isPreset(preset)) {
            throw new IllegalArgumentException("--preset " + preset + " is not a preset (" + String.join(", ", ModelPresets.NAMES) + ")");
        }
        if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
            throw new IllegalArgumentException("--out " + out + " exists and is not an empty directory; refusing to overwrite it");
        }
        ModelConfig config = shape(ModelPresets.config(preset), numKvHeads, intermediateSize);
        Checkpoint.write(out, config, RandomWeights.generate(config, seed), ModelPresets.tokenizer(preset));
        System.err.printf("wrote %s: %s shape, %d parameters (hidden %d, intermediate %d, %d layers, %d heads, %d KV heads,"
                        + " vocab %d), fp32, seed %d%n", out, preset, config.parameterCount(), config.hiddenSize(),
                config.intermediateSize(), config.numLayers(), config.numHeads(), config.numKvHeads(), config.vocabSize(), seed);
        return 0;
    }

    /** The preset's config with the given overrides (null keeps the preset's value); ModelConfig validates the result. */
    static ModelConfig shape(ModelConfig c, Integer numKvHeads, Integer intermediateSize) {
        if (numKvHeads != null && numKvHeads <= 0) {
            throw new IllegalArgumentException("--num-kv-heads must be positive, got " + numKvHeads);
        }
        if (intermediateSize != null && intermediateSize <= 0) {
            throw new IllegalArgumentException("--intermediate-size must be positive, got " + intermediateSize);
        }
        return new ModelConfig(c.architecture(), c.modelType(), c.vocabSize(), c.hiddenSize(),
                intermediateSize == null ? c.intermediateSize() : intermediateSize, c.numLayers(), c.numHeads(),
                numKvHeads == null ? c.numKvHeads() : numKvHeads, c.headDim(), c.rmsNormEps(), c.ropeTheta(),
                c.ropeScaling(), c.tieWordEmbeddings(), c.maxPositionEmbeddings(), c.attentionBias(), c.qkNorm(),
                c.eosTokenIds(), c.bosTokenId(), c.torchDtype());
    }
}
