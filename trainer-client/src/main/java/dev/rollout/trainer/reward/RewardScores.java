package dev.rollout.trainer.reward;

import java.util.Map;

/**
 * The rewards of a batch of completions.
 *
 * @param perFunction [function][completion], NaN where a function returned null
 * @param total       R_i = Σ_k w_k r_ik over the functions that scored completion i; NaN when none did
 * @param stats       as TRL logs them: {@code rewards/<fn>/mean} and {@code rewards/<fn>/std} (over the completions
 *                    the function scored), {@code reward} and {@code reward_std} (of the totals, Bessel std)
 */
public record RewardScores(double[][] perFunction, double[] total, Map<String, Double> stats) {
}
