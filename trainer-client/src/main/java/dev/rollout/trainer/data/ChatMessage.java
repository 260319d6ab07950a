package dev.rollout.trainer.data;

/** One message of a chat prompt; the server applies the model's chat template. */
public record ChatMessage(String role, String content) {
}
