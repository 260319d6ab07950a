package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tiny.TinyTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenLengthBoundTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> VOCAB = List.of("a", "abc", "▁hello");

    private static int bound(String json) throws IOException {
        JsonNode root = JSON.readTree(json);
        return TokenLengthBound.bytesPerToken(root, VOCAB);
    }

    @Test
    void withoutANormalizerTheBoundIsTheLongestEntryInUtf8Bytes() throws IOException {
        assertEquals(8, bound("{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}"));
    }

    @Test
    void unicodeNormalizationAndAStringReplaceWidenTheBound() throws IOException {
        assertEquals(32, bound("{\"normalizer\": {\"type\": \"NFC\"}}"));
        assertEquals(8, bound("{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"},"
                + " {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]}}"));
        assertEquals(24, bound("{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \"abc\"}, \"content\": \"x\"}}"));
    }

    @Test
    void aNormalizerOrPreTokenizerThatCanDeleteTextLeavesNoBound() throws IOException {
        assertEquals(0, bound("{\"normalizer\": {\"type\": \"StripAccents\"}}"));
        assertEquals(0, bound("{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\"}}"));
        assertEquals(0, bound("{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"}}"));
        assertEquals(0, bound("{\"pre_tokenizer\": {\"type\": \"Whitespace\"}}"));
        assertEquals(0, bound("{\"pre_tokenizer\": {\"type\": \"Split\", \"behavior\": \"Removed\"}}"));
    }

    @Test
    void noTextEncodesToFewerTokensThanItsBytesOverTheBound(@TempDir Path dir) throws IOException {
        TinyTokenizer.write(dir, 8192);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            int bound = tokenizer.maxBytesPerToken();
            assertTrue(bound > 1, "bound " + bound);
            Random random = new Random(3);
            String corpus = "the quick brown fox jumps over the lazy dog and then some more words appear here <|im_end|> ";
            for (int i = 0; i < 200; i++) {
                StringBuilder text = new StringBuilder();
                for (int w = random.nextInt(40); w >= 0; w--) {
                    int start = random.nextInt(corpus.length());
                    text.append(corpus, start, Math.min(corpus.length(), start + random.nextInt(30)));
                }
                if (text.isEmpty()) {
                    continue;
                }
                int bytes = text.toString().getBytes(StandardCharsets.UTF_8).length;
                int tokens = tokenizer.encode(text.toString()).length;
                assertTrue((long) tokens * bound >= bytes, text + ": " + tokens + " tokens, " + bytes + " bytes");
            }
        }
    }
}
