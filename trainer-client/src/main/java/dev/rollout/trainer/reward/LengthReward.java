package dev.rollout.trainer.reward;

import java.util.Map;

/**
 * Rewards completions of about {@code targetTokens} tokens: 1.0 at the target, falling linearly to 0 at zero tokens
 * and at twice the target ({@code max(0, 1 − |n − target| / target)}).
 */
public final class LengthReward implements RewardFunction {
    public static final String NAME = "length";
    private final int targetTokens;

    public LengthReward(int targetTokens) {
        if (targetTokens < 1) {
            throw new IllegalArgumentException("length target must be at least 1 token, got " + targetTokens);
        }
        this.targetTokens = targetTokens;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
        return Math.max(0.0, 1.0 - Math.abs(completionIds.length - targetTokens) / (double) targetTokens);
    }
}
