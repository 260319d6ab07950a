package dev.rollout.tiny;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tokenizer.ChatMessage;
import dev.rollout.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyTokenizerTest {
    @TempDir
    static Path dir;

    static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        TinyTokenizer.write(dir);
        tokenizer = Tokenizer.load(dir);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static void assertRoundTrip(String text) {
        int[] ids = tokenizer.encode(text);
        assertEquals(text, tokenizer.decode(ids, false), "ids " + Arrays.toString(ids));
    }

    @Test
    void asciiTextRoundTrips() {
        assertRoundTrip("The quick brown fox, then: \"hello\"  world!\n\tTabs and  double  spaces , and trailing ");
    }

    @Test
    void digitsAreOneTokenEach() {
        int[] ids = tokenizer.encode("12345");
        assertArrayEquals(new int[] {'1', '2', '3', '4', '5'}, ids);
        assertRoundTrip("3.14159 + 2 = 5.14159; 1000000");
    }

    @Test
    void anyUnicodeRoundTripsThroughBytes() {
        assertRoundTrip("naïve café, Ελληνικά, 日本語のテキスト, emoji 🙂👍🏽, \u0000 nul and \uFEFF bom");
    }

    @Test
    void specialTokensInTextAreSingleTokens() {
        int[] ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>");
        assertEquals(TinyTokenizer.specialTokenId(TinyTokenizer.IM_START), ids[0]);
        assertEquals(TinyTokenizer.specialTokenId(TinyTokenizer.IM_END), ids[ids.length - 1]);
        assertRoundTrip("<|im_start|>user\nhi<|im_end|>\n<|endoftext|>");
        assertEquals("user\nhi", tokenizer.decode(ids, true));
    }

    @Test
    void encodingAddsNoSpecialTokens() {
        assertArrayEquals(new int[] {'a'}, tokenizer.encode("a"));
    }

    @Test
    void commonWordsAreMerged() {
        assertTrue(tokenizer.encode(" the answer is").length < " the answer is".length());
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "word ".repeat(3000);
        assertRoundTrip(text);
    }

    @Test
    void vocabularyAndSpecialIdsAreFixed() {
        assertEquals(TinyTokenizer.VOCAB_SIZE, tokenizer.vocabSize());
        assertEquals(509, tokenizer.tokenId("<|endoftext|>").getAsInt());
        assertEquals(510, tokenizer.tokenId("<|im_start|>").getAsInt());
        assertEquals(511, tokenizer.tokenId("<|im_end|>").getAsInt());
        assertEquals(List.of(511), tokenizer.eosTokenIds());
        assertTrue(tokenizer.bosTokenId().isEmpty());
    }

    @Test
    void writingIsDeterministic(@TempDir Path other) throws IOException {
        TinyTokenizer.write(other);
        assertEquals(Files.readString(dir.resolve("tokenizer.json")), Files.readString(other.resolve("tokenizer.json")));
    }

    @Test
    void chatTemplateIsChatMl() {
        String text = tokenizer.chatTemplate().orElseThrow()
                .render(List.of(new ChatMessage("user", "2+3?")), true);
        assertEquals("<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n", text);
    }
}
