package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.RewardErrors;
import java.util.List;

/**
 * One entry of {@code reward_funcs} as the trainer runs it: it scores a whole generation batch, so a reward service
 * can take it in a few requests while a {@link RewardFunction} goes completion by completion.
 */
interface BatchReward {
    /** What {@code reward_funcs} says, for error messages: a built-in name, a class name or a URL. */
    String entry();

    /** The metric name, {@code rewards/<name>/mean}. */
    String name();

    /**
     * @param errors {@code raise}: a failure throws {@link RewardException} naming the entry and the completion;
     *               {@code nan}: the completions it concerns are scored NaN and counted
     */
    Scores score(List<ScoredCompletion> batch, RewardErrors errors);

    /**
     * @param values one per completion; NaN where the reward could not judge it or failed
     * @param errors how many completions failed (always 0 under {@code reward_errors: raise})
     */
    record Scores(double[] values, int errors) {
    }
}
