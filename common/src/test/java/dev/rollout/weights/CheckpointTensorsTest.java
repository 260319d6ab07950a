package dev.rollout.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTensorsTest {
    @TempDir
    Path dir;

    /** Five fp32 tensors of 40 bytes each, values 100*i + j. */
    private static List<HostTensor> fiveTensors() {
        List<HostTensor> tensors = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            float[] v = new float[10];
            for (int j = 0; j < v.length; j++) {
                v[j] = 100 * i + j;
            }
            tensors.add(HostTensor.ofFloats("layer." + i + ".weight", new long[] {2, 5}, v));
        }
        return tensors;
    }

    @Test
    void shardsAreSplitAsHuggingFaceSplitsThemAndLoadBack() throws IOException {
        CheckpointTensors.writeSharded(dir, fiveTensors(), 100); // 40 + 40 fit, a third would not

        JsonNode index = new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
        assertEquals(200, index.path("metadata").path("total_size").asLong());
        assertEquals("model-00001-of-00003.safetensors", index.path("weight_map").path("layer.0.weight").asText());
        assertEquals("model-00001-of-00003.safetensors", index.path("weight_map").path("layer.1.weight").asText());
        assertEquals("model-00002-of-00003.safetensors", index.path("weight_map").path("layer.2.weight").asText());
        assertEquals("model-00003-of-00003.safetensors", index.path("weight_map").path("layer.4.weight").asText());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));

        try (CheckpointTensors ckpt = CheckpointTensors.open(dir)) {
            assertEquals(5, ckpt.names().size());
            for (int i = 0; i < 5; i++) {
                HostTensor t = ckpt.get("layer." + i + ".weight");
                assertArrayEquals(new long[] {2, 5}, t.shape());
                assertEquals(100f * i + 9, t.toFloats()[9]);
            }
        }
    }

    @Test
    void oneShardIsWrittenAsASingleFileWithoutIndex() throws IOException {
        CheckpointTensors.writeSharded(dir, fiveTensors(), 1 << 20);
        assertTrue(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.index.json")));
        try (CheckpointTensors ckpt = CheckpointTensors.open(dir)) {
            assertEquals(304f, ckpt.get("layer.3.weight").toFloats()[4]);
        }
    }

    @Test
    void aTensorLargerThanTheLimitGetsAShardOfItsOwn() throws IOException {
        List<HostTensor> tensors = new ArrayList<>(fiveTensors().subList(0, 2));
        tensors.add(1, HostTensor.ofFloats("big", new long[] {100}, new float[100]));
        CheckpointTensors.writeSharded(dir, tensors, 100);
        try (SafetensorsReader shard = SafetensorsReader.open(dir.resolve("model-00002-of-00003.safetensors"))) {
            assertEquals(List.of("big"), shard.names());
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        CheckpointTensors.writeSharded(dir, fiveTensors(), 100);
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        String message = assertThrows(IOException.class, () -> CheckpointTensors.open(dir)).getMessage();
        assertTrue(message.contains("lists shard 'model-00002-of-00003.safetensors' (for tensor 'layer.2.weight')"), message);
    }

    @Test
    void directoryWithoutWeightsIsRefusedClearly() {
        String message = assertThrows(IOException.class, () -> CheckpointTensors.open(dir)).getMessage();
        assertEquals(dir + " holds neither model.safetensors nor model.safetensors.index.json"
                + " (only safetensors checkpoints are supported; convert .bin/.pt weights first)", message);
    }

    @Test
    void unknownTensorNameIsRefusedNamingIt() throws IOException {
        SafetensorsWriter.write(dir.resolve("model.safetensors"), fiveTensors(), Map.of());
        try (CheckpointTensors ckpt = CheckpointTensors.open(dir)) {
            assertThrows(IllegalArgumentException.class, () -> ckpt.get("lm_head.weight"));
        }
    }
}
