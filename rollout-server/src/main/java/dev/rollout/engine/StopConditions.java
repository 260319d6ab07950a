package dev.rollout.engine;

import java.util.List;

/**
 * When a sequence ends after sampling a token: an EOS id of the model (unless the request ignores EOS) or one of the
 * request's stop ids ends it with {@link FinishReason#STOP} (the token stays in the completion); {@code max_tokens} or
 * the model's context limit end it with {@link FinishReason#LENGTH}.
 */
final class StopConditions {
    private final int[] eosTokenIds;
    private final int maxContextLength;

    StopConditions(List<Integer> eosTokenIds, int maxContextLength) {
        this.eosTokenIds = eosTokenIds.stream().mapToInt(Integer::intValue).toArray();
        this.maxContextLength = maxContextLength;
    }

    /** The reason {@code seq} ends now that {@code token} is its last token, or null if it goes on. */
    FinishReason check(Sequence seq, int token) {
        if (!seq.params.ignoreEos() && isEos(token) || seq.params.isStopToken(token)) {
            return FinishReason.STOP;
        }
        if (seq.numGeneratedTokens() >= seq.params.maxTokens() || seq.numTokens() >= maxContextLength) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    private boolean isEos(int token) {
        for (int id : eosTokenIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }
}
