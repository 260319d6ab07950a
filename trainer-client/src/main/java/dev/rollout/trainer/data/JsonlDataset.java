package dev.rollout.trainer.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tokenizer.ChatMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a JSONL prompt file: one JSON object per line with a {@code prompt} (a string, or a list of
 * {@code {"role", "content"}} messages) and any other columns. Blank lines are skipped; anything else that is not such
 * a row is an error naming the file and line. Image inputs are refused: the models served are text-only.
 */
public final class JsonlDataset {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> IMAGE_COLUMNS = Set.of("image", "images");

    private JsonlDataset() {
    }

    public static List<PromptRow> load(Path file) throws IOException {
        List<PromptRow> rows = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    rows.add(parseLine(file, number, line));
                }
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(file + ": no rows; a dataset needs at least one prompt");
        }
        return rows;
    }

    private static PromptRow parseLine(Path file, int number, String line) {
        String where = file + ":" + number + ": ";
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(where + "not valid JSON: " + e.getOriginalMessage());
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(where + "expected a JSON object with a \"prompt\", got " + node.getNodeType());
        }
        for (String column : IMAGE_COLUMNS) {
            if (node.has(column)) {
                throw new IllegalArgumentException(where + "column \"" + column
                        + "\": image inputs are not supported (text-only models)");
            }
        }
        JsonNode prompt = node.get("prompt");
        if (prompt == null || prompt.isNull()) {
            throw new IllegalArgumentException(where + "missing the \"prompt\" column");
        }
        Map<String, Object> columns = new LinkedHashMap<>();
        node.fields().forEachRemaining(field -> {
            if (!field.getKey().equals("prompt")) {
                columns.put(field.getKey(), JSON.convertValue(field.getValue(), Object.class));
            }
        });
        columns.values().removeIf(v -> v == null); // Map.copyOf refuses nulls; an absent column reads the same
        if (prompt.isTextual()) {
            return PromptRow.ofText(prompt.asText(), columns);
        }
        if (prompt.isArray()) {
            return PromptRow.ofMessages(messages(where, prompt), columns);
        }
        throw new IllegalArgumentException(where + "\"prompt\" must be a string or a list of chat messages, got "
                + prompt.getNodeType());
    }

    private static List<ChatMessage> messages(String where, JsonNode prompt) {
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException(where + "\"prompt\" is an empty list of messages");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < prompt.size(); i++) {
            JsonNode message = prompt.get(i);
            JsonNode role = message.get("role");
            JsonNode content = message.get("content");
            if (content != null && content.isArray()) {
                throw new IllegalArgumentException(where + "message " + i
                        + ": structured (multimodal) content is not supported; content must be a string");
            }
            if (role == null || !role.isTextual() || content == null || !content.isTextual()) {
                throw new IllegalArgumentException(where + "message " + i
                        + " must be {\"role\": string, \"content\": string}, got " + message);
            }
            messages.add(new ChatMessage(role.asText(), content.asText()));
        }
        return messages;
    }
}
