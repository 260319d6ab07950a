package dev.rollout.trainer.bench;

import java.util.Arrays;
import java.util.List;

/** How completion lengths (tokens) were distributed: mean, median, 90th percentile (nearest rank), max. */
public record LengthStats(int count, double mean, int p50, int p90, int max) {

    public static LengthStats of(List<Integer> lengths) {
        if (lengths.isEmpty()) {
            return new LengthStats(0, Double.NaN, 0, 0, 0);
        }
        int[] sorted = lengths.stream().mapToInt(Integer::intValue).sorted().toArray();
        return new LengthStats(sorted.length, Arrays.stream(sorted).average().orElse(Double.NaN),
                rank(sorted, 0.5), rank(sorted, 0.9), sorted[sorted.length - 1]);
    }

    private static int rank(int[] sorted, double q) {
        return sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)];
    }

}
