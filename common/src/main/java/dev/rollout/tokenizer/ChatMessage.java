package dev.rollout.tokenizer;

/** One turn of a conversation, as chat templates see it: {@code message['role']} and {@code message['content']}. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || content == null) {
            throw new IllegalArgumentException("a chat message needs a role and a content, got role=" + role);
        }
    }
}
