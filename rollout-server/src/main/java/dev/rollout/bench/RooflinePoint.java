package dev.rollout.bench;

import java.util.Map;

/**
 * Decode at one batch size against this machine's floor. {@code engineStepSeconds}: a real engine step (schedule,
 * forward, sample, bookkeeping) in steady decode; {@code modelStepSeconds}: the same step's model work alone
 * ({@link DecodeHarness}); {@code opSeconds}: of that, the time inside libtorch operators ({@link OpTimeProfile}).
 * {@code floorSeconds} = max(bytes moved / read bandwidth, flops / GEMM rate). {@code topOpSeconds}: the model step's
 * seconds in each operator called from Java, largest first.
 */
record RooflinePoint(int batch, int context, double engineStepSeconds, double modelStepSeconds, double opSeconds,
                     long bytesMoved, double flops, double floorSeconds, Map<String, Double> topOpSeconds) {

    double stepOverFloor() {
        return engineStepSeconds / floorSeconds;
    }

    /** Share of the engine step not spent inside tensor operators: scheduling, sampling, Java, JNI, per-op overhead. */
    double outsideTensorMathShare() {
        return Math.max(0, 1 - opSeconds / engineStepSeconds);
    }

    double tokensPerSecond() {
        return batch / engineStepSeconds;
    }
}
