package dev.rollout.trainer.config;

/** The training algorithm. */
public enum TrainerType implements ConfigChoice {
    GRPO("grpo"),
    RLOO("rloo");

    private final String configName;

    TrainerType(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
