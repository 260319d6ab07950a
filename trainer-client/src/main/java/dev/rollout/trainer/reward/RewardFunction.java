package dev.rollout.trainer.reward;

import java.util.Map;

/**
 * Scores one completion. Several run together in a {@link RewardSet}, each with a weight.
 */
public interface RewardFunction {
    /** The name used in the config's {@code reward_funcs} and in the logged metric {@code rewards/<name>/mean}. */
    String name();

    /**
     * @param prompt       the prompt as text (a conversation is given as the text the chat template produced)
     * @param completion   the completion's decoded text
     * @param completionIds the completion's token ids
     * @param row          the dataset row's other columns (e.g. {@code answer})
     * @return the reward, or null when this function cannot judge this completion (it is then left out of means)
     */
    Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row);
}
