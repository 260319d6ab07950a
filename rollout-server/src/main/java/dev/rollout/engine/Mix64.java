package dev.rollout.engine;

/**
 * A deterministic 64-bit mixing function (the SplitMix64 finaliser), used for block content hashes and per-sequence RNG
 * seeds. Unlike {@code hashCode} its results are the same on every JVM and every run.
 */
final class Mix64 {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Mix64() {}

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Folds {@code value} into the running hash {@code h}. */
    static long combine(long h, long value) {
        return mix(h + GOLDEN + mix(value));
    }
}
