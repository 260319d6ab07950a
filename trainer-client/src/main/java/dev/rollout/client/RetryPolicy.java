package dev.rollout.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long to keep calling a server that answers UNAVAILABLE (not started yet, restarting, network blip): up to
 * {@code maxAttempts} calls, the waits between them growing by {@code multiplier} from {@code initialBackoff} up to
 * {@code maxBackoff}, each randomised by ±{@code jitter} so that several trainers do not hammer a server in step.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier, double jitter) {

    /** About two minutes of patience in all: enough for a server to load a model and start. */
    public static final RetryPolicy DEFAULT = new RetryPolicy(12, Duration.ofMillis(200), Duration.ofSeconds(20), 2.0, 0.2);

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("retry maxAttempts must be >= 1, got " + maxAttempts);
        }
        if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("retry backoff must satisfy 0 <= initial (" + initialBackoff
                    + ") <= max (" + maxBackoff + ")");
        }
        if (!(multiplier >= 1.0)) {
            throw new IllegalArgumentException("retry multiplier must be >= 1, got " + multiplier);
        }
        if (!(jitter >= 0.0 && jitter < 1.0)) {
            throw new IllegalArgumentException("retry jitter must be in [0, 1), got " + jitter);
        }
    }

    /** The nominal wait after failed attempt number {@code attempt} (1-based), before jitter. */
    public Duration backoff(int attempt) {
        double nanos = initialBackoff.toNanos() * Math.pow(multiplier, attempt - 1);
        return Duration.ofNanos((long) Math.min(nanos, maxBackoff.toNanos()));
    }

    /** The wait actually slept: the nominal wait scaled by a uniform factor in [1 - jitter, 1 + jitter]. */
    Duration jitteredBackoff(int attempt) {
        double factor = 1.0 + jitter * (2.0 * ThreadLocalRandom.current().nextDouble() - 1.0);
        return Duration.ofNanos((long) (backoff(attempt).toNanos() * factor));
    }
}
