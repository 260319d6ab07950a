package dev.rollout.trainer.reward;

import java.util.Map;

/**
 * TRL's {@code accuracy_reward}: 1.0 when the completion's math answer equals the row's reference answer, else 0.0;
 * null (not judged) when the row has no reference answer that can be read. The reference is the {@code solution}
 * column (TRL's name) or else the {@code answer} column. How answers are read and compared: {@link MathAnswer}.
 */
public final class AccuracyReward implements RewardFunction {
    public static final String NAME = "accuracy";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
        Object reference = row.containsKey("solution") ? row.get("solution") : row.get("answer");
        if (reference == null) {
            return null;
        }
        MathAnswer.Value expected = MathAnswer.fromSolution(reference.toString());
        if (expected == null) {
            return null;
        }
        MathAnswer.Value given = MathAnswer.fromCompletion(completion);
        return given != null && given.equivalent(expected) ? 1.0 : 0.0;
    }
}
