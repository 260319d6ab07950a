package dev.rollout.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.weights.HostTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The model a benchmark runs: a preset with random weights from a seed, or a checkpoint directory's weights. Only the
 * model is loaded (the benchmark works in token ids). Closing it frees the weights.
 */
final class BenchModel implements AutoCloseable {
    private final String name;
    private final NDManager manager;
    private final CausalLM model;

    private BenchModel(String name, NDManager manager, CausalLM model) {
        this.name = name;
        this.manager = manager;
        this.model = model;
    }

    static BenchModel load(String model, long seed, Device device) throws IOException {
        return load(model, seed, device, 0);
    }

    /**
     * As {@link #load(String, long, Device)}; a preset's {@code max_position_embeddings} is raised to at least
     * {@code minPositions} (the scaling table's longest context: with random weights, only the RoPE table grows and
     * a step costs the same). A checkpoint directory keeps its own.
     */
    static BenchModel load(String model, long seed, Device device, int minPositions) throws IOException {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            if (ModelPresets.isPreset(model)) {
                ModelConfig config = withPositions(ModelPresets.config(model), minPositions);
                Map<String, HostTensor> tensors = new LinkedHashMap<>();
                for (HostTensor t : RandomWeights.generate(config, seed)) {
                    tensors.put(t.name(), t);
                }
                return new BenchModel(model, manager, new CausalLM(config, ModelWeights.fromHost(config, tensors, manager)));
            }
            Path dir = Path.of(model);
            if (!Files.isDirectory(dir)) {
                throw new IOException("--model " + model + " is neither a preset (" + String.join(", ", ModelPresets.NAMES)
                        + ") nor a checkpoint directory");
            }
            try (Checkpoint checkpoint = Checkpoint.open(dir)) {
                ModelWeights weights = ModelWeights.fromHost(checkpoint.config(), tensorName -> {
                    try {
                        return checkpoint.tensors().contains(tensorName) ? checkpoint.tensors().get(tensorName) : null;
                    } catch (IOException e) {
                        throw new UncheckedIOException("reading tensor " + tensorName + " from " + dir, e);
                    }
                }, manager);
                return new BenchModel(dir.getFileName().toString(), manager, new CausalLM(checkpoint.config(), weights));
            }
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static ModelConfig withPositions(ModelConfig c, int minPositions) {
        if (c.maxPositionEmbeddings() >= minPositions) {
            return c;
        }
        return new ModelConfig(c.architecture(), c.modelType(), c.vocabSize(), c.hiddenSize(), c.intermediateSize(),
                c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(), c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(),
                c.tieWordEmbeddings(), minPositions, c.attentionBias(), c.qkNorm(), c.eosTokenIds(), c.bosTokenId(),
                c.torchDtype());
    }

    String name() {
        return name;
    }

    CausalLM model() {
        return model;
    }

    @Override
    public void close() {
        model.close();
        manager.close();
    }
}
