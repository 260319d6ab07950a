package dev.rollout.trainer.config;

/** Where completions are generated: on remote rollout servers, or by an engine in the trainer's own process. */
public enum RolloutMode implements ConfigChoice {
    SERVER("server"),
    COLOCATE("colocate");

    private final String configName;

    RolloutMode(String configName) {
        this.configName = configName;
    }

    @Override
    public String configName() {
        return configName;
    }
}
