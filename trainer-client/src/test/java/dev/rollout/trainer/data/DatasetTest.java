package dev.rollout.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tokenizer.ChatMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
    @TempDir
    Path dir;

    private Path write(String... lines) throws IOException {
        Path file = dir.resolve("train.jsonl");
        Files.write(file, List.of(lines));
        return file;
    }

    @Test
    void textPromptsKeepTheirOtherColumns() throws IOException {
        List<PromptRow> rows = JsonlDataset.load(write(
                "{\"prompt\": \"12+7=\", \"answer\": \"19\"}",
                "",
                "{\"prompt\": \"2+2=\", \"answer\": 4, \"level\": \"easy\"}"));
        assertEquals(2, rows.size());
        assertEquals("12+7=", rows.get(0).text());
        assertFalse(rows.get(0).isConversation());
        assertEquals(Map.of("answer", "19"), rows.get(0).columns());
        assertEquals(Map.of("answer", 4, "level", "easy"), rows.get(1).columns());
    }

    @Test
    void chatPromptsBecomeMessages() throws IOException {
        List<PromptRow> rows = JsonlDataset.load(write(
                "{\"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"3+4?\"}], \"answer\": \"7\"}"));
        assertTrue(rows.get(0).isConversation());
        assertEquals(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "3+4?")),
                rows.get(0).messages());
    }

    @Test
    void badLineIsAnErrorNamingFileAndLine() throws IOException {
        Path file = write("{\"prompt\": \"ok\"}", "{\"prompt\": oops}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(file));
        assertTrue(e.getMessage().startsWith(file + ":2: "), e.getMessage());
    }

    @Test
    void rowWithoutPromptIsAnError() throws IOException {
        Path file = write("{\"question\": \"3+4?\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(file));
        assertTrue(e.getMessage().contains(":1: missing the \"prompt\""), e.getMessage());
    }

    @Test
    void malformedMessageIsAnError() throws IOException {
        Path file = write("{\"prompt\": [{\"role\": \"user\"}]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(file));
        assertTrue(e.getMessage().contains("message 0"), e.getMessage());
    }

    @Test
    void imageInputsAreRefused() throws IOException {
        Path column = write("{\"prompt\": \"describe\", \"image\": \"cat.png\"}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(column)).getMessage()
                .contains("image inputs are not supported"));
        Path content = write("{\"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}]}]}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonlDataset.load(content)).getMessage()
                .contains("multimodal"));
    }

    @Test
    void arithmeticRowsCarryTheirAnswer() {
        for (PromptRow row : ArithmeticDataset.generate(7, 50)) {
            String[] parts = row.text().substring("What is ".length(), row.text().length() - 1).split("(?=[+-])");
            int a = Integer.parseInt(parts[0]);
            int b = Integer.parseInt(parts[1].substring(1));
            int expected = parts[1].charAt(0) == '+' ? a + b : a - b;
            assertEquals(Integer.toString(expected), row.columns().get("answer"), row.text());
        }
    }

    @Test
    void arithmeticRowsDependOnlyOnTheSeed() {
        assertEquals(ArithmeticDataset.generate(3, 20), ArithmeticDataset.generate(3, 20));
        assertNotEquals(ArithmeticDataset.generate(3, 20), ArithmeticDataset.generate(4, 20));
    }

    @Test
    void shuffledOrderIsAPermutationFixedBySeedAndEpoch() throws IOException {
        PromptDataset a = PromptDataset.open("arithmetic", 42);
        PromptDataset b = PromptDataset.open("arithmetic", 42);
        int[] order = a.epochOrder(0, true);
        assertArrayEquals(order, b.epochOrder(0, true));
        assertFalse(Arrays.equals(order, a.epochOrder(1, true)), "each epoch has its own order");
        int[] sorted = order.clone();
        Arrays.sort(sorted);
        assertArrayEquals(a.epochOrder(0, false), sorted, "a permutation of all rows");
    }

    @Test
    void datasetOpensAFileBeforeAGeneratorName() throws IOException {
        Path file = write("{\"prompt\": \"hi\"}");
        assertEquals(1, PromptDataset.open(file.toString(), 0).size());
        assertThrows(IllegalArgumentException.class, () -> PromptDataset.open(dir.resolve("missing.jsonl").toString(), 0));
    }
}
