package dev.rollout.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.ModelConfig;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.tiny.TinyTokenizer;
import dev.rollout.tokenizer.ChatMessage;
import dev.rollout.weights.HostTensor;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.ModelWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    @Test
    void materializedTinyPresetOpensWithItsConfigWeightsAndTokenizer() throws IOException {
        ModelPresets.materialize("tiny", 42, dir);
        List<HostTensor> expected = RandomWeights.generate(ModelPresets.config("tiny"), 42);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertEquals(ModelPresets.config("tiny"), ckpt.config());
            assertEquals(expected.size(), ckpt.tensors().names().size());
            for (HostTensor t : expected) {
                assertArrayEquals(t.toFloats(), ckpt.tensors().get(t.name()).toFloats(), t.name());
            }
            assertEquals(List.of(511, 509), ckpt.tokenizer().eosTokenIds());
            String prompt = ckpt.tokenizer().chatTemplate().orElseThrow()
                    .render(List.of(new ChatMessage("user", "hello")), true);
            assertEquals(prompt, ckpt.tokenizer().decode(ckpt.tokenizer().encode(prompt, false), false));
        }
    }

    @Test
    void materializedTinyPresetLoadsIntoTheModel() throws IOException {
        ModelPresets.materialize("tiny", 5, dir);
        try (Checkpoint ckpt = Checkpoint.open(dir);
                NDManager manager = NDManager.newBaseManager();
                ModelWeights weights = ModelWeights.fromHost(ckpt.config(), name -> tensor(ckpt, name), manager)) {
            for (HostTensor t : weights.toHost()) {
                assertArrayEquals(ckpt.tensors().get(t.name()).toFloats(), t.toFloats(), t.name());
            }
        }
    }

    private static HostTensor tensor(Checkpoint ckpt, String name) {
        try {
            return ckpt.tensors().contains(name) ? ckpt.tensors().get(name) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void checkpointWrittenWithAnotherDirectorysTokenizerCopiesIt(@TempDir Path tokenizerDir) throws IOException {
        TinyTokenizer.write(tokenizerDir);
        ModelConfig config = ModelPresets.config("tiny");
        Checkpoint.write(dir, config, RandomWeights.generate(config, 1), tokenizerDir);
        assertEquals(Files.readString(tokenizerDir.resolve("tokenizer.json")), Files.readString(dir.resolve("tokenizer.json")));
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertEquals(512, ckpt.tokenizer().vocabSize());
        }
    }

    @Test
    void missingConfigIsNamed() throws IOException {
        ModelPresets.materialize("tiny", 1, dir);
        Files.delete(dir.resolve("config.json"));
        assertEquals(dir + " has no config.json (is it a Hugging Face model directory?)",
                assertThrows(IOException.class, () -> Checkpoint.open(dir)).getMessage());
    }

    @Test
    void missingTokenizerIsNamed() throws IOException {
        ModelPresets.materialize("tiny", 1, dir);
        Files.delete(dir.resolve("tokenizer.json"));
        assertTrue(assertThrows(IOException.class, () -> Checkpoint.open(dir)).getMessage()
                .startsWith(dir + " has no tokenizer.json"));
    }

    @Test
    void missingWeightsAreNamed() throws IOException {
        ModelPresets.materialize("tiny", 1, dir);
        Files.delete(dir.resolve("model.safetensors"));
        assertTrue(assertThrows(IOException.class, () -> Checkpoint.open(dir)).getMessage()
                .startsWith(dir + " holds neither model.safetensors nor model.safetensors.index.json"));
    }

    @Test
    void tokenizerLargerThanTheModelsVocabularyIsRefused() throws IOException {
        ModelConfig small = ModelPresets.config("tiny");
        ModelConfig tooSmall = new ModelConfig(small.architecture(), small.modelType(), 256, small.hiddenSize(),
                small.intermediateSize(), 1, small.numHeads(), small.numKvHeads(), small.headDim(), small.rmsNormEps(),
                small.ropeTheta(), null, true, 64, false, false, List.of(), null, "float32");
        Checkpoint.write(dir, tooSmall, RandomWeights.generate(tooSmall, 1), TinyTokenizer::write);
        assertEquals(dir + ": the tokenizer has 512 tokens but config.json's vocab_size is 256",
                assertThrows(IOException.class, () -> Checkpoint.open(dir)).getMessage());
    }
}
