package dev.rollout.trainer.config;

/** What a reward that fails on a completion does to the step (the config's {@code reward_errors}). */
public enum RewardErrors implements ConfigChoice {
    /** The step fails with an error naming the reward and the completion. */
    RAISE("raise"),
    /** The completion is scored NaN by that reward (left out of its means) and counted in {@code rewards/<name>/errors}. */
    NAN("nan");

    private final String configName;

    RewardErrors(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
