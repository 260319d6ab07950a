package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofMillis(1000), 2.0, 0.2);

    @Test
    void backoffGrowsByTheMultiplierUpToTheMaximum() {
        assertEquals(Duration.ofMillis(100), policy.backoff(1));
        assertEquals(Duration.ofMillis(200), policy.backoff(2));
        assertEquals(Duration.ofMillis(800), policy.backoff(4));
        assertEquals(Duration.ofMillis(1000), policy.backoff(5));
        assertEquals(Duration.ofMillis(1000), policy.backoff(9));
    }

    @Test
    void jitterStaysWithinItsFraction() {
        for (int i = 0; i < 1000; i++) {
            long ms = policy.jitteredBackoff(3).toNanos();
            assertTrue(ms >= 320_000_000L && ms <= 480_000_000L, ms + " ns");
        }
    }

    @Test
    void refusesZeroAttempts() {
        assertThrows(IllegalArgumentException.class,
                () -> new RetryPolicy(0, Duration.ZERO, Duration.ZERO, 1.0, 0.0));
    }
}
