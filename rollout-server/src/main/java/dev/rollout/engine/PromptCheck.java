package dev.rollout.engine;

/**
 * What a tokenized prompt must satisfy for a model: at least one token, every id within the vocabulary (a tokenizer
 * and a model may disagree on its size), and the prompt plus every token it may generate within the context. The
 * server refuses such a request with INVALID_ARGUMENT before it reaches the engine; the engine refuses it too, for
 * callers that submit directly.
 */
public final class PromptCheck {
    private final int vocabSize;
    private final int maxContextLength;

    public PromptCheck(int vocabSize, int maxContextLength) {
        this.vocabSize = vocabSize;
        this.maxContextLength = maxContextLength;
    }

    /** Why prompt {@code index} cannot be served with {@code maxTokens}, or null when it can. */
    public String problem(int index, int[] tokens, int maxTokens) {
        if (tokens == null || tokens.length == 0) {
            return "prompts[" + index + "] encodes to no tokens: a prompt needs at least one token";
        }
        for (int id : tokens) {
            if (id < 0 || id >= vocabSize) {
                return "prompts[" + index + "] encodes to token " + id + ", outside the model's vocabulary [0, " + vocabSize
                        + "): the tokenizer does not match the model";
            }
        }
        long total = (long) tokens.length + maxTokens;
        if (total > maxContextLength) {
            return "prompts[" + index + "] has " + tokens.length + " tokens; with max_tokens " + maxTokens + " that is "
                    + total + ", beyond the model's context of " + maxContextLength
                    + " tokens: shorten the prompt or lower max_tokens";
        }
        return null;
    }
}
