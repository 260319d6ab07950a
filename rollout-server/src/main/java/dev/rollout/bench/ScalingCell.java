package dev.rollout.bench;

/**
 * One cell of the scaling table: a {@code phase} ({@code decode} or {@code prefill}) step of {@code batch} sequences
 * at context {@code context}, computing {@code tokensPerStep} tokens in {@code stepSeconds} (median), against
 * {@code floorSeconds} = max(bytes moved / read bandwidth, flops / GEMM rate). {@code skipped}: why it was not run
 * (then the times are NaN), else null.
 */
record ScalingCell(String phase, int batch, int context, int tokensPerStep, long kvCacheBytes, double stepSeconds,
                   double floorSeconds, String skipped) {

    static ScalingCell skipped(String phase, int batch, int context, int tokensPerStep, long kvCacheBytes, String why) {
        return new ScalingCell(phase, batch, context, tokensPerStep, kvCacheBytes, Double.NaN, Double.NaN, why);
    }

    boolean measured() {
        return skipped == null;
    }

    double tokensPerSecond() {
        return tokensPerStep / stepSeconds;
    }

    double stepOverFloor() {
        return stepSeconds / floorSeconds;
    }
}
