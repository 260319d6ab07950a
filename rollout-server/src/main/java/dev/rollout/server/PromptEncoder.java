package dev.rollout.server;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.tokenizer.template.ChatTemplate;
import dev.rollout.tokenizer.Tokenizer;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.List;

/** Turns a validated {@link Prompt} into token ids: as sent, through the tokenizer, or through the chat template. */
public final class PromptEncoder {
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;

    /** Either may be null for a model served without them; prompts that need the missing one are refused. */
    public PromptEncoder(Tokenizer tokenizer, ChatTemplate chatTemplate) {
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
    }

    public int[] encode(int index, Prompt prompt) throws StatusException {
        return switch (prompt.getInputCase()) {
            case TOKEN_IDS -> prompt.getTokenIds().getIdsList().stream().mapToInt(Integer::intValue).toArray();
            case TEXT -> requireTokenizer(index, "text").encode(prompt.getText());
            case CONVERSATION -> {
                if (chatTemplate == null) {
                    throw Status.INVALID_ARGUMENT.withDescription("prompts[" + index + "] is a conversation but this model has no chat "
                            + "template (no chat_template in its tokenizer_config.json): send text or token_ids").asException();
                }
                List<dev.rollout.tokenizer.ChatMessage> messages = prompt.getConversation().getMessagesList().stream()
                        .map((ChatMessage m) -> new dev.rollout.tokenizer.ChatMessage(m.getRole(), m.getContent()))
                        .toList();
                // The rendered template already holds whatever BOS the model wants (transformers' apply_chat_template).
                yield requireTokenizer(index, "conversation").encode(render(index, messages), false);
            }
            default -> throw Status.INVALID_ARGUMENT.withDescription("prompts[" + index + "] is empty").asException();
        };
    }

    private String render(int index, List<dev.rollout.tokenizer.ChatMessage> messages) throws StatusException {
        try {
            return chatTemplate.render(messages, true);
        } catch (RuntimeException e) {
            // templates raise on conversations they do not accept (e.g. roles not alternating)
            throw Status.INVALID_ARGUMENT.withDescription("prompts[" + index + "]: the model's chat template refused the conversation: "
                    + e.getMessage()).asException();
        }
    }

    /** The completion's text; empty when the model has no tokenizer (the token ids are always there). */
    public String decode(int[] tokenIds) {
        return tokenizer == null ? "" : tokenizer.decode(tokenIds, true);
    }

    private Tokenizer requireTokenizer(int index, String kind) throws StatusException {
        if (tokenizer == null) {
            throw Status.INVALID_ARGUMENT.withDescription("prompts[" + index + "] is " + kind
                    + " but this model was loaded without a tokenizer (no tokenizer.json): send token_ids").asException();
        }
        return tokenizer;
    }
}
