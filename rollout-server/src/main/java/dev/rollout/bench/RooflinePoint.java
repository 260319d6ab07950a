package dev.rollout.bench;

import java.util.Map;

/**
 * Decode at one batch size against this machine's floor. {@code engineStepSeconds}: a real engine step (schedule,
 * forward, sample, bookkeeping) in steady decode; {@code modelStepSeconds}: the same step's model work alone
 * ({@link DecodeHarness}); {@code opSeconds}: of that, the time inside libtorch operators ({@link OpTimeProfile});
 * {@code kernelSeconds}: the time in the Java attention kernel on CPU, tensor math that the profiler does not see.
 * {@code floorSeconds} = max(bytes moved / read bandwidth, flops / GEMM rate). {@code topOpSeconds}: the model step's
 * seconds in each operator called from Java, largest first.
 */
record RooflinePoint(int batch, int context, double engineStepSeconds, double modelStepSeconds, double opSeconds,
                     double kernelSeconds, long bytesMoved, double flops, double floorSeconds, Map<String, Double> topOpSeconds) {

    double stepOverFloor() {
        return engineStepSeconds / floorSeconds;
    }

    /**
     * Share of the engine step spent neither in tensor operators nor in the Java attention kernel: scheduling,
     * sampling, Java glue, JNI, per-op overhead.
     */
    double outsideTensorMathShare() {
        return Math.max(0, 1 - (opSeconds + kernelSeconds) / engineStepSeconds);
    }

    double tokensPerSecond() {
        return batch / engineStepSeconds;
    }
}
