package dev.rollout.server;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.weights.HostTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads what {@code --model} names onto a device: a preset ({@code tiny}, {@code 30m}, {@code 135m}: random weights
 * from a seed, the tiny tokenizer at the preset's vocabulary size) or a Hugging Face checkpoint directory.
 */
public final class ModelLoader {
    /** The model and the manager its weights (and every synced set after them) live in; close it last. */
    public record Loaded(ServedModel served, NDManager manager) implements AutoCloseable {
        @Override
        public void close() {
            served.model().close();
            if (served.tokenizer() != null) {
                served.tokenizer().close();
            }
            manager.close();
        }
    }

    private ModelLoader() {}

    public static Loaded load(String model, long seed, Device device) throws IOException {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return ModelPresets.isPreset(model) ? preset(model, seed, manager) : directory(Path.of(model), manager);
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static Loaded preset(String name, long seed, NDManager manager) throws IOException {
        ModelConfig config = ModelPresets.config(name);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (HostTensor t : RandomWeights.generate(config, seed)) {
            tensors.put(t.name(), t);
        }
        Path dir = Files.createTempDirectory("rollout-tokenizer-");
        Tokenizer tokenizer;
        try {
            ModelPresets.tokenizer(name).writeTo(dir);
            tokenizer = Tokenizer.load(dir);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        CausalLM lm = new CausalLM(config, ModelWeights.fromHost(config, tensors, manager));
        return new Loaded(new ServedModel(name + "-seed" + seed, lm, tokenizer, tokenizer.chatTemplate().orElse(null)), manager);
    }

    private static Loaded directory(Path dir, NDManager manager) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("--model " + dir + " is neither a preset (" + String.join(", ", ModelPresets.NAMES)
                    + ") nor a checkpoint directory");
        }
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            ModelConfig config = withStopIds(checkpoint.config(), checkpoint.tokenizer().eosTokenIds());
            ModelWeights weights = ModelWeights.fromHost(config, name -> {
                try {
                    return checkpoint.tensors().contains(name) ? checkpoint.tensors().get(name) : null;
                } catch (IOException e) {
                    throw new UncheckedIOException("reading tensor " + name + " from " + dir, e);
                }
            }, manager);
            // The checkpoint's tokenizer is closed with it: the served one is loaded on its own.
            Tokenizer tokenizer = Tokenizer.load(dir);
            CausalLM lm = new CausalLM(config, weights);
            return new Loaded(new ServedModel(dir.getFileName().toString(), lm, tokenizer, tokenizer.chatTemplate().orElse(null)), manager);
        }
    }

    /**
     * The engine stops on the config's EOS ids; instruct models often list their end-of-turn token only in the
     * tokenizer or generation config, so the union is what the model really ends with.
     */
    static ModelConfig withStopIds(ModelConfig c, List<Integer> tokenizerEos) {
        Set<Integer> eos = new LinkedHashSet<>(c.eosTokenIds());
        eos.addAll(tokenizerEos);
        if (eos.size() == c.eosTokenIds().size()) {
            return c;
        }
        return new ModelConfig(c.architecture(), c.modelType(), c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(), c.tieWordEmbeddings(),
                c.maxPositionEmbeddings(), c.attentionBias(), c.qkNorm(), new ArrayList<>(eos), c.bosTokenId(), c.torchDtype());
    }
}
