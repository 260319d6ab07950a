package dev.rollout.engine;

import java.util.Locale;

/**
 * What a weight swap does to the sequences running when it lands between two engine steps. The server fixes it for its
 * life ({@code serve --inflight-weight-update}); a request cannot choose.
 */
public enum InflightWeightUpdate {
    /** They go on with the new weights over the K/V the old ones computed (PipelineRL, TRL's async {@code keep}). */
    KEEP,
    /**
     * Their K/V is freed and they are re-queued, to be prefilled again from prompt + generated tokens under the new
     * weights (the preemption-by-recompute path): every later token comes from exactly the new policy.
     */
    RECOMPUTE,
    /** The swap waits until no generation request is in flight, so no completion spans two versions. */
    WAIT;

    /** The name as the {@code --inflight-weight-update} flag, GetModelInfo and the metric's {@code mode} tag spell it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses the flag's value; the message names the choices. */
    public static InflightWeightUpdate parse(String value) {
        for (InflightWeightUpdate mode : values()) {
            if (mode.label().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("--inflight-weight-update must be keep, recompute or wait, got '" + value + "'");
    }
}
