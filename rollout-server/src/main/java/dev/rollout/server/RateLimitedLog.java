package dev.rollout.server;

import org.slf4j.Logger;

/**
 * At most one WARN line per interval for a kind of event that a client can cause at any rate (a fuzzer sending
 * garbage must not fill the log); the next line says how many were left out.
 */
final class RateLimitedLog {
    private final Logger log;
    private final long intervalNanos;
    private long lastNanos;
    private boolean logged;
    private long suppressed;

    RateLimitedLog(Logger log, long intervalNanos) {
        this.log = log;
        this.intervalNanos = intervalNanos;
    }

    /** Logs {@code message} unless a line went out less than an interval ago; returns whether it did. */
    boolean warn(String message) {
        long left;
        synchronized (this) {
            long now = System.nanoTime();
            if (logged && now - lastNanos < intervalNanos) {
                suppressed++;
                return false;
            }
            logged = true;
            lastNanos = now;
            left = suppressed;
            suppressed = 0;
        }
        log.warn(left == 0 ? message : message + " (" + left + " more like it since the last such line)");
        return true;
    }
}
