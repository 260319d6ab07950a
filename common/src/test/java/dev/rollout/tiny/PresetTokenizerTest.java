package dev.rollout.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every preset's tokenizer covers the preset's whole vocabulary, and the first 512 tokens are the tiny tokenizer's. */
class PresetTokenizerTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "30m", "135m"})
    void thePresetsTokenizerHasThePresetsVocabularyAndDecodesItsLastId(String preset) throws IOException {
        int vocab = ModelPresets.config(preset).vocabSize();
        ModelPresets.tokenizer(preset).writeTo(dir);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertEquals(vocab, tokenizer.vocabSize());
            assertFalse(tokenizer.decode(new int[] {vocab - 1, vocab / 2}, true).isEmpty());
        }
    }

    @Test
    void aGrownTokenizerKeepsTheTinyIdsSpecialTokensAndDigits() throws IOException {
        Path tiny = dir.resolve("tiny");
        Path grown = dir.resolve("grown");
        TinyTokenizer.write(tiny);
        TinyTokenizer.write(grown, 8192);
        try (Tokenizer small = Tokenizer.load(tiny); Tokenizer large = Tokenizer.load(grown)) {
            String chat = "<|im_start|>12+345=<|im_end|>";
            assertArrayEquals(small.encode(chat), large.encode(chat));
            assertEquals(small.eosTokenIds(), large.eosTokenIds());
            String text = "The quick brown fox jumps over the lazy dog, 2 times.";
            assertEquals(text, large.decode(large.encode(text), false));
        }
    }

    @Test
    void aTokenizerSmallerThanTheTinyOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> TinyTokenizer.write(dir, 100));
    }
}
