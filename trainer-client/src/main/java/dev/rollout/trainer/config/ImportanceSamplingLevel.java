package dev.rollout.trainer.config;

/** Whether the policy ratio is per token or one per sequence (GSPO). */
public enum ImportanceSamplingLevel implements ConfigChoice {
    TOKEN("token"),
    SEQUENCE("sequence");

    private final String configName;

    ImportanceSamplingLevel(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
