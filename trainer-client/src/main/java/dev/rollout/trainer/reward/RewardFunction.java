package dev.rollout.trainer.reward;

import java.util.Map;

/**
 * A reward: scores one completion. This is the stable interface for rewards written in Java: a class implementing it,
 * named by its fully qualified name in the config's {@code reward_funcs}, is loaded from the trainer's classpath or
 * the jars of {@code reward_classpath} / {@code --reward-classpath} (docs/rewards.md).
 *
 * <p>The class needs a public constructor: one taking a {@code Map<String, Object>} receives the entry's
 * {@code reward_kwargs} (an empty map when it has none); otherwise a no-argument one is used. The trainer calls
 * {@link #score} from one thread, completion after completion, in the order of the generation batch (the completions
 * of a prompt's group are adjacent).
 *
 * <p>{@link #score} may return null when it cannot judge a completion (e.g. its row lacks the column it compares
 * against); the completion is then left out of this reward's means and gets the other rewards' weighted sum, as TRL
 * does with None. An exception fails the step with the completion's index, unless the config says
 * {@code reward_errors: nan}.
 */
public interface RewardFunction {
    /**
     * The name of the logged metrics {@code rewards/<name>/mean} and {@code /std}, unless the config's
     * {@code reward_names} gives one; the class's simple name by default.
     */
    default String name() {
        return getClass().getSimpleName();
    }

    /**
     * @param prompt        the prompt as text (a conversation is given as the text the chat template produced)
     * @param completion    the completion's decoded text
     * @param completionIds the completion's token ids (without the prompt)
     * @param row           the dataset row's other columns, e.g. {@code answer}, as JSON gives them (String, Integer,
     *                      Double, Boolean, List, Map); absent columns are absent keys
     * @return the reward, or null when this function cannot judge this completion
     */
    Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row);
}
