package dev.rollout.trainer.config;

/** How GRPO combines several reward functions into advantages (TRL's {@code multi_objective_aggregation}). */
public enum MultiObjectiveAggregation implements ConfigChoice {
    SUM_THEN_NORMALIZE("sum_then_normalize"),
    NORMALIZE_THEN_SUM("normalize_then_sum");

    private final String configName;

    MultiObjectiveAggregation(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
