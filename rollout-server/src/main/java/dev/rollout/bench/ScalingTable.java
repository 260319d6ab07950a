package dev.rollout.bench;

import java.util.List;

/** The scaling table of one model: every cell of the grid in {@code settings}, decode cells first; its duration. */
record ScalingTable(String modelName, ScalingSettings settings, List<ScalingCell> cells, double seconds) {

    List<ScalingCell> phase(String phase) {
        return cells.stream().filter(c -> c.phase().equals(phase)).toList();
    }

    ScalingCell cell(String phase, int batch, int context) {
        return cells.stream().filter(c -> c.phase().equals(phase) && c.batch() == batch && c.context() == context)
                .findFirst().orElseThrow();
    }
}
