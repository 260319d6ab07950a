package dev.rollout.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.ModelConfig;
import dev.rollout.tiny.ModelPresets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench checkpoint}: a preset's shape with overrides, written as a checkpoint directory that loads. */
class CheckpointCommandTest {

    @Test
    void writesACheckpointThatLoadsWithTheOverriddenShape(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ckpt");
        int exit = new CommandLine(new CheckpointCommand()).execute("--preset", "tiny", "--num-kv-heads", "4",
                "--intermediate-size", "200", "--out", dir.toString());
        assertEquals(0, exit);
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(4, c.config().numKvHeads());
            assertEquals(200, c.config().intermediateSize());
            assertEquals(ModelPresets.config("tiny").hiddenSize(), c.config().hiddenSize());
            assertArrayEquals(new long[] {4L * c.config().headDim(), c.config().hiddenSize()},
                    c.tensors().get("model.layers.0.self_attn.k_proj.weight").shape());
        }
    }

    @Test
    void aDirectoryThatHoldsFilesIsNotOverwritten(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("keep.txt"), "mine");
        int exit = new CommandLine(new CheckpointCommand()).execute("--preset", "tiny", "--out", dir.toString());
        assertNotEquals(0, exit);
        assertEquals("mine", Files.readString(dir.resolve("keep.txt")));
        assertTrue(Files.notExists(dir.resolve("model.safetensors")));
    }

    @Test
    void kvHeadsThatDoNotDivideTheAttentionHeadsAreRefused() {
        ModelConfig tiny = ModelPresets.config("tiny");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CheckpointCommand.shape(tiny, tiny.numHeads() + 1, null));
        assertTrue(e.getMessage().contains("must divide"), e.getMessage());
    }

    @Test
    void withoutOverridesTheShapeIsThePresets() {
        assertEquals(ModelPresets.config("30m"), CheckpointCommand.shape(ModelPresets.config("30m"), null, null));
    }
}
