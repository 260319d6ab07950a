package dev.rollout.trainer.config;

/**
 * TRL's {@code loss_type}: how per-token losses are formed and aggregated into one number. {@code grpo}, {@code bnpo},
 * {@code dr_grpo}, {@code dapo} and {@code luspo} share the clipped objective and differ in aggregation; {@code cispo},
 * {@code sapo} and {@code vespo} replace the clip itself.
 */
public enum LossType implements ConfigChoice {
    GRPO("grpo"),
    BNPO("bnpo"),
    DR_GRPO("dr_grpo"),
    DAPO("dapo"),
    CISPO("cispo"),
    SAPO("sapo"),
    LUSPO("luspo"),
    VESPO("vespo");

    private final String configName;

    LossType(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }

    /** The loss types whose per-token loss is the hard-clipped surrogate (and which log {@code clip_ratio/*}). */
    public boolean clipsTheRatio() {
        return this == GRPO || this == BNPO || this == DR_GRPO || this == DAPO || this == LUSPO;
    }
}
