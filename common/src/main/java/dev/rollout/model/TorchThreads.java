package dev.rollout.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * How many threads libtorch may use inside one tensor op, decided once per process at its entry point.
 *
 * <p>libtorch parallelises ops with OpenMP, whose idle threads spin-wait by default. When the cores are shared (a
 * trainer and a rollout server on the same machine, or any other busy process), a spinning thread burns the time slice
 * its peer needs: on a loaded 2-core machine a {@code 30m} decode step at batch 32 took ~700-1000 ms with 2 threads
 * against ~60-90 ms with 1. With {@code OMP_WAIT_POLICY=PASSIVE} in the environment (it must be set before the JVM
 * starts: OpenMP reads it once) idle threads sleep instead, and 2 threads cost about what 1 does under load while
 * still splitting large matmuls when the cores are free. Hence: every core with a passive wait policy, else one.
 * The system property {@value #PROPERTY} overrides both.
 */
public final class TorchThreads {
    /** System property: libtorch intra-op threads, a positive integer. */
    public static final String PROPERTY = "rollout.torch.threads";

    private TorchThreads() {}

    /** Applies {@link #decide()} to libtorch (loading it if needed) and returns the count it set. */
    public static int configure() {
        int threads = decide();
        Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
        return threads;
    }

    /** The thread count {@link #configure()} applies, from the property, the environment and the core count. */
    public static int decide() {
        String set = System.getProperty(PROPERTY);
        if (set != null) {
            int n;
            try {
                n = Integer.parseInt(set.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(PROPERTY + " must be a positive integer, got '" + set + "'", e);
            }
            if (n < 1) {
                throw new IllegalArgumentException(PROPERTY + " must be a positive integer, got " + n);
            }
            return n;
        }
        String policy = System.getenv("OMP_WAIT_POLICY");
        return "passive".equalsIgnoreCase(policy) ? Runtime.getRuntime().availableProcessors() : 1;
    }
}
