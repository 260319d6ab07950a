package dev.rollout.server.sync;

import java.util.Locale;

/**
 * How the server serves a LoRA adapter ({@code serve --adapter-serving}), fixed for its life. Both compute
 * {@code W + scale · B · A} for the targeted modules over the base the server keeps; they trade memory for step time.
 */
public enum AdapterServing {
    /**
     * Each adapter version is merged into new copies of the targeted fused matrices, from the kept base; every other
     * tensor is the base's. A decode step costs what the base's does; the targeted matrices are held twice.
     */
    MERGED,
    /**
     * The base alone is held, and each targeted projection adds {@code scale · (x A^T) B^T} per step: the adapter's
     * few megabytes instead of a second copy of the targeted matrices, for more tensor ops per step.
     */
    UNMERGED;

    /** The name as the {@code --adapter-serving} flag spells it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the flag's value; the message names the choices. */
    public static AdapterServing parse(String value) {
        for (AdapterServing mode : values()) {
            if (mode.label().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("--adapter-serving must be merged or unmerged, got '" + value + "'");
    }
}
