package dev.rollout.trainer.config;

/** How per-token losses are aggregated into one number (TRL's `loss_type`). */
public enum LossType implements ConfigChoice {
    GRPO("grpo"),
    BNPO("bnpo"),
    DR_GRPO("dr_grpo"),
    DAPO("dapo");

    private final String configName;

    LossType(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
