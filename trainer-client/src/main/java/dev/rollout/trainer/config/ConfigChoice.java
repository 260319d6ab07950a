package dev.rollout.trainer.config;

/** An enum whose constants are spelled in the config file as {@link #configName()} (TRL's snake_case spelling). */
public interface ConfigChoice {
    String configName();
}
