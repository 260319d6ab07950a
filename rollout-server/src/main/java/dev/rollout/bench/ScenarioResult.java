package dev.rollout.bench;

/**
 * Continuous against static on one scenario. {@code speedup} is static's mean wall time over continuous's: how many
 * times faster continuous batching finished the same tokens.
 */
record ScenarioResult(int generations, int sequences, long promptTokens, int longestPrompt, RunSummary continuous,
                      RunSummary staticBatch) {

    double speedup() {
        return staticBatch.wallSecondsMean() / continuous.wallSecondsMean();
    }

    /** Continuous's peak KV bytes in use as a fraction of static's. */
    double kvRatio() {
        return (double) continuous.peakKvBytes() / staticBatch.peakKvBytes();
    }
}
