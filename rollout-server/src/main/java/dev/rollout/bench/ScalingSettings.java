package dev.rollout.bench;

import java.util.List;

/**
 * The scaling table's grid: decode and prefill at every {@code batches} × {@code contexts} cell, {@code steps} timed
 * steps each (median), cells whose KV cache would exceed {@code kvLimitBytes} skipped. {@code prefillTokenBudget}: the
 * tokens one prefill step computes (the engine's default {@code max_batch_tokens}), split evenly over the batch.
 * {@code batches} empty skips the table.
 */
record ScalingSettings(List<Integer> batches, List<Integer> contexts, int steps, long kvLimitBytes, int prefillTokenBudget) {
    static final List<Integer> FULL_BATCHES = List.of(1, 8, 32, 64, 128, 256);
    static final List<Integer> FULL_CONTEXTS = List.of(256, 1024, 4096);
    static final int DEFAULT_STEPS = 5;
    static final long DEFAULT_KV_LIMIT_BYTES = 4L << 30;
    static final int DEFAULT_PREFILL_TOKEN_BUDGET = 2048;
    /** {@code --quick}: the smallest grid that still shows batch and context growth, for CI and tests. */
    static final ScalingSettings QUICK = new ScalingSettings(List.of(1, 8), List.of(64, 256), 2, DEFAULT_KV_LIMIT_BYTES,
            DEFAULT_PREFILL_TOKEN_BUDGET);

    ScalingSettings {
        batches = List.copyOf(batches);
        contexts = List.copyOf(contexts);
        require(batches.stream().allMatch(b -> b > 0), "--scaling-batches must be positive, got " + batches);
        require(!contexts.isEmpty() && contexts.stream().allMatch(c -> c > 0),
                "--scaling-contexts must list positive token counts, got " + contexts);
        require(steps > 0, "--scaling-steps must be positive, got " + steps);
        require(kvLimitBytes > 0, "--scaling-kv-limit-mib must be positive, got " + (kvLimitBytes >> 20));
        require(prefillTokenBudget > 0, "the prefill token budget must be positive, got " + prefillTokenBudget);
    }

    boolean skipped() {
        return batches.isEmpty();
    }

    int longestContext() {
        return contexts.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    /** Prompt tokens per sequence in a prefill step: the budget split over the batch, at most the context. */
    int prefillChunk(int batch, int context) {
        return Math.max(1, Math.min(context, prefillTokenBudget / batch));
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
