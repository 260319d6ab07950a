package dev.rollout.trainer.data;

import dev.rollout.tokenizer.ChatMessage;
import java.util.List;
import java.util.Map;

/**
 * One dataset row: a prompt, either plain text or a conversation, and the row's other columns (handed to the reward
 * functions, e.g. {@code answer}). Exactly one of {@code text} and {@code messages} is set.
 */
public record PromptRow(String text, List<ChatMessage> messages, Map<String, Object> columns) {

    public PromptRow {
        if ((text == null) == (messages == null)) {
            throw new IllegalArgumentException("a prompt is either text or a list of chat messages");
        }
        messages = messages == null ? null : List.copyOf(messages);
        columns = Map.copyOf(columns);
    }

    public static PromptRow ofText(String text, Map<String, Object> columns) {
        return new PromptRow(text, null, columns);
    }

    public static PromptRow ofMessages(List<ChatMessage> messages, Map<String, Object> columns) {
        return new PromptRow(null, messages, columns);
    }

    public boolean isConversation() {
        return messages != null;
    }
}
