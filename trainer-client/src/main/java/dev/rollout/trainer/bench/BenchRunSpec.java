package dev.rollout.trainer.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One configuration the benchmark measures: the training mode, its staleness bound, and the server's
 * {@code --inflight-weight-update} mode. {@link #ALL} is the bench's full set, in the order it runs them.
 */
public record BenchRunSpec(String name, boolean async, int maxStaleness, String inflightWeightUpdate) {

    public static final List<BenchRunSpec> ALL = List.of(
            new BenchRunSpec("sync", false, 0, "recompute"),
            new BenchRunSpec("async-s1", true, 1, "recompute"),
            new BenchRunSpec("async-s2", true, 2, "recompute"),
            new BenchRunSpec("async-s4", true, 4, "recompute"),
            new BenchRunSpec("async-s2-keep", true, 2, "keep"));

    public String mode() {
        return async ? "async" : "sync";
    }

    /** The runs named in {@code names} (any order, each once), in {@link #ALL}'s order; names the valid ones otherwise. */
    public static List<BenchRunSpec> select(List<String> names) {
        Map<String, BenchRunSpec> byName = new LinkedHashMap<>();
        ALL.forEach(s -> byName.put(s.name(), s));
        for (String n : names) {
            if (!byName.containsKey(n.trim())) {
                throw new IllegalArgumentException("unknown run '" + n.trim() + "'; choose among " + String.join(", ", byName.keySet()));
            }
        }
        List<BenchRunSpec> out = new ArrayList<>();
        for (BenchRunSpec s : ALL) {
            if (names.stream().anyMatch(n -> n.trim().equals(s.name()))) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("--runs selects no run; choose among " + String.join(", ", byName.keySet()));
        }
        return out;
    }
}
