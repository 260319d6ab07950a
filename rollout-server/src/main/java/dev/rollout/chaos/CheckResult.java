package dev.rollout.chaos;

import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one check of the campaign saw: outcomes tallied by gRPC status code (or another short outcome name), the
 * failures (each distinct message with how often it happened), and named facts such as leaked KV blocks or RSS.
 * Thread-safe: concurrent clients record into one result.
 */
final class CheckResult {
    private static final int DISTINCT_FAILURES_KEPT = 25;

    final String name;
    private final Map<String, Long> outcomes = new TreeMap<>();
    private final Map<String, Long> failures = new LinkedHashMap<>();
    private final Map<String, Object> facts = new LinkedHashMap<>();
    private long failureCount;
    private double seconds;
    private long logLines = -1;

    CheckResult(String name) {
        this.name = name;
    }

    /** Tallies a call's status; UNKNOWN is always a failure: it means the server let an exception escape. */
    synchronized void count(String rpc, Status status) {
        count(rpc + " " + status.getCode());
        if (status.getCode() == Status.Code.UNKNOWN) {
            fail(rpc + " answered UNKNOWN: " + status.getDescription());
        }
    }

    synchronized void count(String outcome) {
        outcomes.merge(outcome, 1L, Long::sum);
    }

    synchronized void fail(String message) {
        failureCount++;
        String key = message.length() > 300 ? message.substring(0, 300) + "..." : message;
        if (failures.containsKey(key) || failures.size() < DISTINCT_FAILURES_KEPT) {
            failures.merge(key, 1L, Long::sum);
        }
    }

    synchronized void fact(String key, Object value) {
        facts.put(key, value);
    }

    synchronized void finish(double seconds, long logLines) {
        this.seconds = seconds;
        this.logLines = logLines;
    }

    synchronized boolean passed() {
        return failureCount == 0;
    }

    synchronized long failureCount() {
        return failureCount;
    }

    synchronized long total() {
        return outcomes.values().stream().mapToLong(Long::longValue).sum();
    }

    synchronized long outcome(String key) {
        return outcomes.getOrDefault(key, 0L);
    }

    synchronized Map<String, Long> outcomes() {
        return new TreeMap<>(outcomes);
    }

    synchronized Map<String, Long> failures() {
        return new LinkedHashMap<>(failures);
    }

    synchronized Map<String, Object> facts() {
        return new LinkedHashMap<>(facts);
    }

    synchronized double seconds() {
        return seconds;
    }

    /** WARN/ERROR log records the server wrote during the check; -1 where the campaign cannot see its log. */
    synchronized long logLines() {
        return logLines;
    }
}
