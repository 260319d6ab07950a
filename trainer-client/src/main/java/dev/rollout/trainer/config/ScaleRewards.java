package dev.rollout.trainer.config;

/** How GRPO scales the group-relative advantage (TRL's `scale_rewards`). */
public enum ScaleRewards implements ConfigChoice {
    GROUP("group"),
    BATCH("batch"),
    NONE("none");

    private final String configName;

    ScaleRewards(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
