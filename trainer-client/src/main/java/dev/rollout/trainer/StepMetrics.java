package dev.rollout.trainer;

import java.util.LinkedHashMap;
import java.util.Map;

/** Means over a step of statistics reported once per micro-batch or per optimizer step. */
final class StepMetrics {
    private final Map<String, double[]> sums = new LinkedHashMap<>();

    void add(Map<String, Double> stats) {
        stats.forEach((k, v) -> {
            double[] s = sums.computeIfAbsent(k, x -> new double[2]);
            s[0] += v;
            s[1]++;
        });
    }

    Map<String, Double> means() {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
        return out;
    }
}
