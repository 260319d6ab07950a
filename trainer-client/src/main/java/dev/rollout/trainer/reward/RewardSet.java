package dev.rollout.trainer.reward;

import dev.rollout.trainer.config.RewardErrors;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Several reward functions with weights, combined as TRL does: R_i = Σ_k w_k r_ik, skipping functions that returned null. */
public final class RewardSet {
    /** The built-in reward functions' names, as the config's {@code reward_funcs} spells them. */
    public static final List<String> BUILT_IN = List.of(AccuracyReward.NAME, FormatReward.NAME, LengthReward.NAME);

    private final List<BatchReward> functions;
    private final double[] weights;
    private final RewardErrors errors;

    /** Java reward functions, named by their {@link RewardFunction#name()}, failing the step on an error. */
    public RewardSet(List<RewardFunction> functions, List<Double> weights) {
        this(functions.stream().<BatchReward>map(f -> new PerCompletionReward(f.name(), f.name(), f)).toList(), weights,
                RewardErrors.RAISE);
    }

    RewardSet(List<BatchReward> functions, List<Double> weights, RewardErrors errors) {
        if (functions.isEmpty() || functions.size() != weights.size()) {
            throw new IllegalArgumentException(functions.size() + " reward functions with " + weights.size()
                    + " weights; give at least one function and one weight per function");
        }
        Set<String> names = new HashSet<>();
        for (BatchReward f : functions) {
            if (f.name().isBlank() || f.name().contains("/")) {
                throw new IllegalArgumentException("reward function '" + f.entry() + "' is named '" + f.name()
                        + "'; a metric name must be non-empty and without '/'");
            }
            if (!names.add(f.name())) {
                throw new IllegalArgumentException("two reward functions are named '" + f.name()
                        + "'; give each its own name with reward_names");
            }
        }
        this.functions = List.copyOf(functions);
        this.weights = weights.stream().mapToDouble(Double::doubleValue).toArray();
        this.errors = errors;
    }

    /** The functions the config's {@code reward_funcs} names (built-in, Java classes, reward services), with its weights. */
    public static RewardSet fromConfig(TrainerConfig config) {
        return RewardLoader.load(config);
    }

    public List<String> names() {
        return functions.stream().map(BatchReward::name).toList();
    }

    public RewardScores score(List<ScoredCompletion> completions) {
        int n = completions.size();
        double[][] perFunction = new double[functions.size()][n];
        int[] failed = new int[functions.size()];
        for (int k = 0; k < functions.size(); k++) {
            BatchReward.Scores s = functions.get(k).score(completions, errors);
            if (s.values().length != n) {
                throw new IllegalStateException("reward function '" + functions.get(k).entry() + "' gave "
                        + s.values().length + " scores for " + n + " completions");
            }
            perFunction[k] = s.values();
            failed[k] = s.errors();
        }
        double[] total = new double[n];
        for (int i = 0; i < n; i++) {
            boolean scored = false;
            for (int k = 0; k < functions.size(); k++) {
                double r = perFunction[k][i];
                if (!Double.isNaN(r)) {
                    total[i] += weights[k] * r;
                    scored = true;
                }
            }
            if (!scored) {
                total[i] = Double.NaN; // no function could judge it: left out of means, advantage 0
            }
        }
        Map<String, Double> stats = new LinkedHashMap<>();
        for (int k = 0; k < functions.size(); k++) {
            String name = functions.get(k).name();
            stats.put("rewards/" + name + "/mean", Advantages.nanMean(perFunction[k], 0, n));
            stats.put("rewards/" + name + "/std", Advantages.nanStd(perFunction[k], 0, n));
            if (errors == RewardErrors.NAN) {
                stats.put("rewards/" + name + "/errors", (double) failed[k]);
            }
        }
        stats.put("reward", Advantages.nanMean(total, 0, n));
        stats.put("reward_std", Advantages.nanStd(total, 0, n));
        return new RewardScores(perFunction, total, stats);
    }
}
