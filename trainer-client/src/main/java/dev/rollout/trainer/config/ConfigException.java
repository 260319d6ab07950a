package dev.rollout.trainer.config;

/** A configuration key is unknown or has a value it cannot take; the message names the key and what it accepts. */
public final class ConfigException extends IllegalArgumentException {
    private final String key;

    public ConfigException(String key, String message) {
        super(key == null ? message : "config key '" + key + "': " + message);
        this.key = key;
    }

    /** The offending key (dotted for section keys), or null for a problem with the file as a whole. */
    public String key() {
        return key;
    }
}
