package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Several reward functions with weights, combined as TRL does: R_i = Σ_k w_k r_ik, skipping functions that returned null. */
public final class RewardSet {
    /** The built-in reward functions' names, as the config's {@code reward_funcs} spells them. */
    public static final List<String> BUILT_IN = List.of(AccuracyReward.NAME, FormatReward.NAME, LengthReward.NAME);

    private final List<RewardFunction> functions;
    private final double[] weights;

    public RewardSet(List<RewardFunction> functions, List<Double> weights) {
        if (functions.isEmpty() || functions.size() != weights.size()) {
            throw new IllegalArgumentException(functions.size() + " reward functions with " + weights.size()
                    + " weights; give at least one function and one weight per function");
        }
        this.functions = List.copyOf(functions);
        this.weights = weights.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The built-in functions the config names, with its weights. */
    public static RewardSet fromConfig(TrainerConfig config) {
        List<RewardFunction> functions = new ArrayList<>();
        for (String name : config.rewardFuncs()) {
            functions.add(switch (name) {
                case AccuracyReward.NAME -> new AccuracyReward();
                case FormatReward.NAME -> new FormatReward(config.formatPattern());
                case LengthReward.NAME -> new LengthReward(config.lengthTargetTokens());
                default -> throw new ConfigException("reward_funcs",
                        "unknown reward function '" + name + "'; built-in ones are " + String.join(", ", BUILT_IN));
            });
        }
        return new RewardSet(functions, config.effectiveRewardWeights());
    }

    public List<String> names() {
        return functions.stream().map(RewardFunction::name).toList();
    }

    public RewardScores score(List<ScoredCompletion> completions) {
        int n = completions.size();
        double[][] perFunction = new double[functions.size()][n];
        double[] total = new double[n];
        boolean[] scored = new boolean[n];
        for (int k = 0; k < functions.size(); k++) {
            RewardFunction function = functions.get(k);
            for (int i = 0; i < n; i++) {
                ScoredCompletion c = completions.get(i);
                Double r;
                try {
                    r = function.score(c.prompt(), c.completion(), c.completionIds(), c.row());
                } catch (RuntimeException e) {
                    throw new IllegalStateException("reward function '" + function.name() + "' failed on completion " + i
                            + ": " + e.getMessage(), e);
                }
                perFunction[k][i] = r == null ? Double.NaN : r;
                if (r != null && !r.isNaN()) {
                    total[i] += weights[k] * r;
                    scored[i] = true;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            if (!scored[i]) {
                total[i] = Double.NaN; // no function could judge it: left out of means, advantage 0
            }
        }
        Map<String, Double> stats = new LinkedHashMap<>();
        for (int k = 0; k < functions.size(); k++) {
            stats.put("rewards/" + functions.get(k).name() + "/mean", Advantages.nanMean(perFunction[k], 0, n));
            stats.put("rewards/" + functions.get(k).name() + "/std", Advantages.nanStd(perFunction[k], 0, n));
        }
        stats.put("reward", Advantages.nanMean(total, 0, n));
        stats.put("reward_std", Advantages.nanStd(total, 0, n));
        return new RewardScores(perFunction, total, stats);
    }
}
