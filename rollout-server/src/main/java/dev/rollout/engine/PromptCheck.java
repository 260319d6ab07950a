package dev.rollout.engine;

/**
 * What a tokenized prompt must satisfy for a model: at least one token, every id within the vocabulary (a tokenizer
 * and a model may disagree on its size), and the prompt plus every token it may generate within the context (and, in
 * the engine, within the whole KV cache). The
 * server refuses such a request with INVALID_ARGUMENT before it reaches the engine; the engine refuses it too, for
 * callers that submit directly.
 */
public final class PromptCheck {
    private final int vocabSize;
    private final int maxContextLength;
    private final int blockSize;
    private final int numBlocks;

    public PromptCheck(int vocabSize, int maxContextLength) {
        this(vocabSize, maxContextLength, 1, 0);
    }

    /** The engine's check, which also needs the prompt plus max_tokens to fit in the whole KV cache ({@code numBlocks} > 0). */
    PromptCheck(int vocabSize, int maxContextLength, int blockSize, int numBlocks) {
        this.vocabSize = vocabSize;
        this.maxContextLength = maxContextLength;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
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
        long needed = (total + blockSize - 1) / blockSize;
        if (numBlocks > 0 && needed > numBlocks) {
            return "prompts[" + index + "] plus max_tokens needs " + total + " tokens = " + needed + " KV cache blocks of "
                    + blockSize + ", but the cache has only " + numBlocks
                    + " blocks; lower max_tokens or give the cache more memory";
        }
        return null;
    }
}
