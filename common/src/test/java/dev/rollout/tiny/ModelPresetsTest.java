package dev.rollout.tiny;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.weights.HostTensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelPresetsTest {
    private static long countFromShapes(ModelConfig c) {
        return ModelWeights.expectedTensors(c).stream().mapToLong(t -> HostTensor.numElements(t.shape())).sum();
    }

    @Test
    void tinyMatchesTheTinyTokenizerAndStopsOnItsEndTokens() {
        ModelConfig c = ModelPresets.config("tiny");
        assertEquals(TinyTokenizer.VOCAB_SIZE, c.vocabSize());
        assertEquals(List.of(511, 509), c.eosTokenIds());
        // 512*128 embedding (tied) + 4 * (attention 4*128*128 - 2*128*64 + MLP 3*128*384 + norms 2*128) + final norm 128
        assertEquals(853_120, c.parameterCount());
        assertEquals(c.parameterCount(), countFromShapes(c));
    }

    @Test
    void thirtyMillionPresetHasAboutThirtyMillionParameters() {
        ModelConfig c = ModelPresets.config("30m");
        // 8192*512 + 8 * (2*512*512 + 2*512*128 + 3*512*1664 + 2*512) + 512
        assertEquals(29_893_120, c.parameterCount());
        assertEquals(c.parameterCount(), countFromShapes(c));
        assertEquals(4, c.numHeads() / c.numKvHeads());
    }

    @Test
    void smolLm2ShapeHas134Point5MillionParameters() {
        ModelConfig c = ModelPresets.config("135m");
        assertEquals(List.of(576, 30, 9, 3, 1536, 49152, 8192),
                List.of(c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.intermediateSize(),
                        c.vocabSize(), c.maxPositionEmbeddings()));
        assertEquals(100_000.0, c.ropeTheta());
        // 49152*576 + 30 * (2*576*576 + 2*576*192 + 3*576*1536 + 2*576) + 576
        assertEquals(134_515_008, c.parameterCount());
        assertEquals(c.parameterCount(), countFromShapes(c));
    }

    @Test
    void presetConfigsSurviveConfigJson() {
        for (String name : ModelPresets.NAMES) {
            ModelConfig c = ModelPresets.config(name);
            assertEquals(c, ModelConfig.parse(c.toJson()), name);
        }
    }

    @Test
    void unknownPresetNamesTheKnownOnes() {
        assertEquals("unknown model preset '7b' (presets: tiny, 30m, 135m; or give a checkpoint directory)",
                assertThrows(IllegalArgumentException.class, () -> ModelPresets.config("7b")).getMessage());
    }
}
