package dev.rollout.trainer.reward;

import java.math.BigDecimal;
import java.util.Map;

/**
 * 1.0 when the last number in the completion equals the row's {@code answer} (numerically: "19.0" equals "19"),
 * else 0.0. The answer may itself be text ending in the number ("#### 19", as in GSM8K). Rows without an
 * {@code answer} column cannot be judged (null). An answer with no number is compared as trimmed text.
 */
public final class AccuracyReward implements RewardFunction {
    public static final String NAME = "accuracy";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
        Object answer = row.get("answer");
        if (answer == null) {
            return null;
        }
        BigDecimal expected = NumberExtraction.lastNumber(answer.toString());
        if (expected == null) {
            return completion.strip().equals(answer.toString().strip()) ? 1.0 : 0.0;
        }
        BigDecimal given = NumberExtraction.lastNumber(completion);
        return given != null && given.compareTo(expected) == 0 ? 1.0 : 0.0;
    }
}
