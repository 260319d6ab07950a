package dev.rollout.trainer.reward;

import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** 1.0 when the whole completion matches a regular expression, else 0.0. */
public final class FormatReward implements RewardFunction {
    public static final String NAME = "format";
    private final Pattern pattern;

    public FormatReward(String regex) {
        try {
            this.pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("format_pattern is not a valid regular expression: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
        return pattern.matcher(completion).matches() ? 1.0 : 0.0;
    }
}
