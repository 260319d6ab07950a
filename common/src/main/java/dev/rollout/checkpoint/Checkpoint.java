package dev.rollout.checkpoint;

import dev.rollout.model.ModelConfig;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.weights.CheckpointTensors;
import dev.rollout.weights.HostTensor;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.ModelWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.List;

/**
 * A Hugging Face model directory: {@code config.json}, safetensors weights (one file or indexed shards) and the
 * tokenizer files. Weights stay memory-mapped until a tensor's values are asked for.
 */
public final class Checkpoint implements AutoCloseable {
    /** Tokenizer files copied along when a checkpoint is written from another directory's tokenizer. */
    static final List<String> TOKENIZER_FILES = List.of(
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "generation_config.json");

    /** Writes the tokenizer's files into a checkpoint directory, e.g. {@code TinyTokenizer::write}. */
    @FunctionalInterface
    public interface TokenizerFiles {
        void writeTo(Path dir) throws IOException;
    }

    private final Path dir;
    private final ModelConfig config;
    private final CheckpointTensors tensors;
    private final Tokenizer tokenizer;

    private Checkpoint(Path dir, ModelConfig config, CheckpointTensors tensors, Tokenizer tokenizer) {
        this.dir = dir;
        this.config = config;
        this.tensors = tensors;
        this.tokenizer = tokenizer;
    }

    public static Checkpoint open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("checkpoint directory " + dir + " does not exist");
        }
        Path configJson = dir.resolve("config.json");
        if (!Files.isRegularFile(configJson)) {
            throw new IOException(dir + " has no config.json (is it a Hugging Face model directory?)");
        }
        ModelConfig config = ModelConfig.load(configJson);
        CheckpointTensors tensors = CheckpointTensors.open(dir);
        try {
            Tokenizer tokenizer = Tokenizer.load(dir);
            if (tokenizer.vocabSize() > config.vocabSize()) {
                tokenizer.close();
                throw new IOException(dir + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but config.json's vocab_size is " + config.vocabSize());
            }
            return new Checkpoint(dir, config, tensors, tokenizer);
        } catch (IOException | RuntimeException e) {
            tensors.close();
            throw e;
        }
    }

    /** Writes config.json, model.safetensors and the tokenizer files of {@code tokenizerSourceDir} into {@code dir}. */
    public static void write(Path dir, ModelConfig config, Collection<HostTensor> tensors, Path tokenizerSourceDir)
            throws IOException {
        write(dir, config, tensors, target -> copyTokenizer(tokenizerSourceDir, target));
    }

    /** Writes config.json, model.safetensors and whatever {@code tokenizerFiles} writes into {@code dir}. */
    public static void write(Path dir, ModelConfig config, Collection<HostTensor> tensors, TokenizerFiles tokenizerFiles)
            throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config.toJson() + "\n");
        CheckpointTensors.writeSharded(dir, tensors, Long.MAX_VALUE);
        tokenizerFiles.writeTo(dir);
    }

    private static void copyTokenizer(Path source, Path target) throws IOException {
        if (!Files.isRegularFile(source.resolve("tokenizer.json"))) {
            throw new IOException(source + " has no tokenizer.json to copy");
        }
        if (Files.isSameFile(source, target)) {
            return;
        }
        for (String name : TOKENIZER_FILES) {
            if (Files.isRegularFile(source.resolve(name))) {
                Files.copy(source.resolve(name), target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The model's parameters on {@code manager}'s device; a tensor missing or misshapen in the files is an error naming it. */
    public ModelWeights loadWeights(NDManager manager) {
        return ModelWeights.fromHost(config, name -> {
            if (!tensors.contains(name)) {
                return null;
            }
            try {
                return tensors.get(name);
            } catch (IOException e) {
                throw new UncheckedIOException(dir + ": cannot read tensor '" + name + "': " + e.getMessage(), e);
            }
        }, manager);
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public CheckpointTensors tensors() {
        return tensors;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() throws IOException {
        tokenizer.close();
        tensors.close();
    }
}
