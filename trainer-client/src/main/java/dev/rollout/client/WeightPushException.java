package dev.rollout.client;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A weight push failed on at least one server. Those servers keep their old weights (a sync is atomic); the servers
 * in {@link #succeeded()} now serve the new version, so the caller must not assume a common version.
 */
public final class WeightPushException extends RuntimeException {
    private final long version;
    private final Map<ServerAddress, Throwable> failures;
    private final List<ServerSyncResult> succeeded;

    WeightPushException(long version, Map<ServerAddress, Throwable> failures, List<ServerSyncResult> succeeded) {
        super(message(version, failures, succeeded), failures.values().iterator().next());
        this.version = version;
        this.failures = Map.copyOf(failures);
        this.succeeded = List.copyOf(succeeded);
    }

    private static String message(long version, Map<ServerAddress, Throwable> failures, List<ServerSyncResult> succeeded) {
        String failed = failures.entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue().getMessage())
                .collect(Collectors.joining("; "));
        return "weight push of version " + version + " failed on " + failures.size() + " of "
                + (failures.size() + succeeded.size()) + " rollout server(s): " + failed
                + (succeeded.isEmpty() ? "" : "; succeeded on " + succeeded);
    }

    public long version() {
        return version;
    }

    /** The servers that failed and why (usually a {@link io.grpc.StatusRuntimeException}). */
    public Map<ServerAddress, Throwable> failures() {
        return failures;
    }

    public List<ServerSyncResult> succeeded() {
        return succeeded;
    }
}
