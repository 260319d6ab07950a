package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.tiny.TinyTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How tokenizer_config.json, config.json and generation_config.json shape the tokenizer (on the tiny vocabulary). */
class TokenizerConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private void editConfig(Consumer<ObjectNode> edit) throws IOException {
        TinyTokenizer.write(dir);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
        edit.accept(config);
        Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
    }

    @Test
    void bosIsPrependedOnlyWhenTheConfigAsksForIt() throws IOException {
        editConfig(c -> {
            c.put("add_bos_token", true);
            c.putObject("bos_token").put("content", "<|endoftext|>").put("special", true);
        });
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {509, 'a'}, t.encode("a"));
            assertArrayEquals(new int[] {'a'}, t.encode("a", false));
            assertEquals(509, t.bosTokenId().getAsInt());
        }
    }

    @Test
    void eosIdsJoinTokenizerConfigModelConfigAndGenerationConfig() throws IOException {
        TinyTokenizer.write(dir);
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": 509}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [511, 510]}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals(List.of(511, 509, 510), t.eosTokenIds());
        }
    }

    @Test
    void chatTemplateFileTakesPrecedenceOverTheConfig() throws IOException {
        TinyTokenizer.write(dir);
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ eos_token }}{{ messages[0]['content'] }}\n");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("<|im_end|>x", t.chatTemplate().orElseThrow().render(List.of(new ChatMessage("user", "x")), false));
        }
    }

    @Test
    void namedTemplatesUseTheDefaultOne() throws IOException {
        editConfig(c -> {
            c.putArray("chat_template").add(JSON.createObjectNode().put("name", "tool_use").put("template", "T"))
                    .add(JSON.createObjectNode().put("name", "default").put("template", "D"));
        });
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("D", t.chatTemplate().orElseThrow().render(List.of(), false));
        }
    }

    @Test
    void eosTokenOutsideTheVocabularyIsRefused() throws IOException {
        editConfig(c -> c.put("eos_token", "</s>"));
        String message = assertThrows(IOException.class, () -> Tokenizer.load(dir)).getMessage();
        assertTrue(message.endsWith("tokenizer_config.json: eos_token '</s>' is not in the vocabulary of tokenizer.json"), message);
    }

    @Test
    void decodingAnIdOutsideTheVocabularyIsRefused() throws IOException {
        TinyTokenizer.write(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("token id 512 is outside the vocabulary [0, 512)",
                    assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {512}, false)).getMessage());
        }
    }
}
