package dev.rollout.trainer.config;

/**
 * How the sampler's importance ratio ρ = π_trainer / π_sampler is applied (TRL's {@code vllm_importance_sampling_mode}):
 * per token or one per sequence, and clamped to [clip_min, clip_max] ({@code *_truncate}) or zeroed outside it
 * ({@code *_mask}).
 */
public enum SamplingCorrectionMode implements ConfigChoice {
    TOKEN_TRUNCATE("token_truncate"),
    TOKEN_MASK("token_mask"),
    SEQUENCE_TRUNCATE("sequence_truncate"),
    SEQUENCE_MASK("sequence_mask");

    private final String configName;

    SamplingCorrectionMode(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }

    /** One ratio per sequence, from the sum of its per-token log-ratios. */
    public boolean sequenceLevel() {
        return this == SEQUENCE_TRUNCATE || this == SEQUENCE_MASK;
    }

    /** Clamp the ratio into the bounds (truncate) rather than zeroing it outside them (mask). */
    public boolean truncates() {
        return this == TOKEN_TRUNCATE || this == SEQUENCE_TRUNCATE;
    }
}
