package dev.rollout.server;

import dev.rollout.engine.PromptCheck;
import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import java.util.List;
import java.util.Set;

/**
 * Checks a {@link GenerateBatchRequest} against the contract (design §3) and this server's limits before anything
 * reaches the engine. Every refusal is {@code INVALID_ARGUMENT} with a message that names the field, the value and
 * what would be accepted, so a client can fix the request without reading server logs.
 */
public final class RequestValidator {
    /** Roles a chat template is expected to understand; anything else is a client typo, not a new role. */
    public static final Set<String> CHAT_ROLES = Set.of("system", "user", "assistant", "tool");

    private final int vocabSize;
    private final int maxContextLength;
    private final int maxN;
    private final long maxRequestSequences;
    private final int maxBytesPerToken;
    private final PromptCheck promptCheck;

    /**
     * @param maxRequestSequences the most sequences (prompts × n) one request may ask for
     * @param maxBytesPerToken the most bytes of text one token stands for ({@code Tokenizer#maxBytesPerToken}), 0 for
     *     no bound: text longer than the context can hold is then refused only after tokenizing
     */
    public RequestValidator(int vocabSize, int maxContextLength, int maxN, long maxRequestSequences, int maxBytesPerToken) {
        this.vocabSize = vocabSize;
        this.maxContextLength = maxContextLength;
        this.maxN = maxN;
        this.maxRequestSequences = maxRequestSequences;
        this.maxBytesPerToken = maxBytesPerToken;
        this.promptCheck = new PromptCheck(vocabSize, maxContextLength);
    }

    /** The sequences a request asks for: prompts × n (n = 0 means 1). */
    public static long sequences(GenerateBatchRequest request) {
        return (long) request.getPromptsCount() * Math.max(1, request.getSampling().getN());
    }

    /**
     * Everything that can be judged before tokenization, in time linear in the request's size: the prompts' shape and
     * count, token ids, every sampling field, and whether a text is too long for the context whatever its tokens.
     */
    public Status validate(GenerateBatchRequest request) {
        if (request.getPromptsCount() == 0) {
            return invalid("no prompts: send at least one entry in 'prompts'");
        }
        Status sampling = validate(request.getSampling());
        if (!sampling.isOk()) {
            return sampling;
        }
        long sequences = sequences(request);
        if (sequences > maxRequestSequences) {
            return invalid(request.getPromptsCount() + " prompts x n = " + Math.max(1, request.getSampling().getN()) + " is "
                    + sequences + " sequences, more than this server's --max-request-sequences (" + maxRequestSequences
                    + "): split the request into smaller ones");
        }
        if (request.getMinWeightVersion() < 0) {
            return invalid("min_weight_version must be >= 0, got " + request.getMinWeightVersion());
        }
        for (int i = 0; i < request.getPromptsCount(); i++) {
            Status prompt = validate(i, request.getPrompts(i));
            if (prompt.isOk()) {
                prompt = validateLength(i, request.getPrompts(i), request.getSampling().getMaxTokens());
            }
            if (!prompt.isOk()) {
                return prompt;
            }
        }
        return Status.OK;
    }

    /**
     * Refuses, before tokenizing, a prompt that cannot fit the context with max_tokens: token ids by their count, text
     * (a conversation by its contents) by the fewest tokens its bytes can encode to.
     */
    Status validateLength(int index, Prompt prompt, int maxTokens) {
        String where = "prompts[" + index + "]";
        long room = (long) maxContextLength - maxTokens;
        if (prompt.getInputCase() == Prompt.InputCase.TOKEN_IDS) {
            int tokens = prompt.getTokenIds().getIdsCount();
            return tokens <= room ? Status.OK : invalid(where + " has " + tokens + " tokens; with max_tokens " + maxTokens
                    + " that is " + (tokens + maxTokens) + ", beyond the model's context of " + maxContextLength
                    + " tokens: shorten the prompt or lower max_tokens");
        }
        if (maxBytesPerToken <= 0) {
            return Status.OK;
        }
        long bytes = 0;
        if (prompt.getInputCase() == Prompt.InputCase.TEXT) {
            bytes = prompt.getTextBytes().size();
        } else if (prompt.getInputCase() == Prompt.InputCase.CONVERSATION) {
            for (ChatMessage m : prompt.getConversation().getMessagesList()) {
                bytes += m.getContentBytes().size();
            }
        }
        long fewestTokens = (bytes + maxBytesPerToken - 1) / maxBytesPerToken;
        if (fewestTokens <= room) {
            return Status.OK;
        }
        return invalid(where + " holds " + bytes + " bytes of text, at least " + fewestTokens + " tokens (no token of this model "
                + "stands for more than " + maxBytesPerToken + " bytes); with max_tokens " + maxTokens + " that is beyond the "
                + "model's context of " + maxContextLength + " tokens: shorten the prompt or lower max_tokens");
    }

    Status validate(SamplingParams s) {
        if (s.getN() < 0 || s.getN() > maxN) {
            return invalid("sampling.n must be between 0 (meaning 1) and " + maxN + " (this server's --max-n), got " + s.getN());
        }
        if (s.getMaxTokens() <= 0) {
            return invalid("sampling.max_tokens is required and must be > 0, got " + s.getMaxTokens());
        }
        if (s.hasTemperature() && !(s.getTemperature() >= 0 && Float.isFinite(s.getTemperature()))) {
            return invalid("sampling.temperature must be a finite number >= 0 (0 means greedy), got " + s.getTemperature());
        }
        if (s.hasTopP() && !(s.getTopP() > 0 && s.getTopP() <= 1)) {
            return invalid("sampling.top_p must be in (0, 1] (leave it unset for 1.0), got " + s.getTopP());
        }
        if (s.getTopK() < 0) {
            return invalid("sampling.top_k must be >= 0 (0 turns it off), got " + s.getTopK());
        }
        if (!(s.getMinP() >= 0 && s.getMinP() <= 1)) {
            return invalid("sampling.min_p must be in [0, 1] (0 turns it off), got " + s.getMinP());
        }
        for (int id : s.getStopTokenIdsList()) {
            if (id < 0 || id >= vocabSize) {
                return invalid("sampling.stop_token_ids contains " + id + ", outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (s.getLogprobsModeValue() != 0 && s.getLogprobsModeValue() != 1) {
            return invalid("sampling.logprobs_mode " + s.getLogprobsModeValue() + " is unknown (use LOGPROBS_MODE_PROCESSED or LOGPROBS_MODE_RAW)");
        }
        return Status.OK;
    }

    Status validate(int index, Prompt prompt) {
        String where = "prompts[" + index + "]";
        switch (prompt.getInputCase()) {
            case INPUT_NOT_SET:
                return invalid(where + " is empty: set one of text, token_ids or conversation");
            case TEXT:
                return prompt.getText().isEmpty() ? invalid(where + ".text is empty") : Status.OK;
            case TOKEN_IDS: {
                List<Integer> ids = prompt.getTokenIds().getIdsList();
                if (ids.isEmpty()) {
                    return invalid(where + ".token_ids is empty: a prompt needs at least one token");
                }
                for (int j = 0; j < ids.size(); j++) {
                    int id = ids.get(j);
                    if (id < 0 || id >= vocabSize) {
                        return invalid(where + ".token_ids[" + j + "] = " + id + " is outside the vocabulary [0, " + vocabSize + ")");
                    }
                }
                return Status.OK;
            }
            case CONVERSATION: {
                List<ChatMessage> messages = prompt.getConversation().getMessagesList();
                if (messages.isEmpty()) {
                    return invalid(where + ".conversation has no messages");
                }
                for (int j = 0; j < messages.size(); j++) {
                    String role = messages.get(j).getRole();
                    if (!CHAT_ROLES.contains(role)) {
                        return invalid(where + ".conversation.messages[" + j + "].role '" + role + "' is unknown (use one of "
                                + String.join(", ", CHAT_ROLES.stream().sorted().toList()) + ")");
                    }
                }
                return Status.OK;
            }
            default:
                return invalid(where + " has an input kind this server does not know: " + prompt.getInputCase());
        }
    }

    /**
     * After tokenization: every id in the vocabulary (a tokenizer and a model may disagree on its size) and the prompt
     * plus every token it may generate within the model's context.
     */
    public Status validateEncoded(int index, int[] tokens, int maxTokens) {
        String problem = promptCheck.problem(index, tokens, maxTokens);
        return problem == null ? Status.OK : invalid(problem);
    }

    private static Status invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message);
    }
}
