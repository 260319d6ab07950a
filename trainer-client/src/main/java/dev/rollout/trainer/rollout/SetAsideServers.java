package dev.rollout.trainer.rollout;

import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.RolloutServerException;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.WeightPushException;
import io.grpc.Status;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The servers that may not hold the published weights (down, restarted, or a push to them failed), each with why:
 * probed with the retry policy's backoff, and brought back with the trainer's current weights when they answer.
 * Not thread-safe except {@link #none}: the caller holds {@link RemoteRollouts}' lock.
 */
final class SetAsideServers {
    private static final Logger LOG = LoggerFactory.getLogger(SetAsideServers.class);
    /** How long a probe of a server waits for a connection: ample on a network, short against the steps. */
    static final Duration PROBE_PATIENCE = Duration.ofSeconds(1);

    private final RolloutClient client;
    private final RetryPolicy patience;
    private final ModelPush push;
    private final Map<ServerAddress, String> behind = new LinkedHashMap<>();
    private final Map<ServerAddress, Long> nextProbeNanos = new LinkedHashMap<>();
    /** No server set aside: readable without the lock, which a weight push holds. */
    private volatile boolean none = true;

    SetAsideServers(RolloutClient client, ModelPush push) {
        this.client = client;
        this.patience = client.config().retry();
        this.push = push;
    }

    boolean none() {
        return none;
    }

    boolean contains(ServerAddress server) {
        return behind.containsKey(server);
    }

    /** The client's servers not set aside. */
    List<ServerAddress> upToDate() {
        return client.servers().stream().filter(s -> !behind.containsKey(s)).toList();
    }

    void add(ServerAddress server, String why) {
        behind.put(server, why);
        nextProbeNanos.putIfAbsent(server, System.nanoTime());
        none = false;
    }

    /**
     * Asks each server set aside whether it is back; one that is gets weight version {@code published} if it lacks it
     * ({@code published} < 0: nothing published yet). Unless {@code now}, a server that did not answer is asked again
     * only after the retry policy's longest backoff ({@code rollout.retry_max_backoff_seconds}), so that a server that
     * stays down does not slow every step of the others.
     */
    void catchUp(boolean now, long published) {
        for (ServerAddress s : List.copyOf(behind.keySet())) {
            if (!now && System.nanoTime() < nextProbeNanos.getOrDefault(s, 0L)) {
                continue;
            }
            try {
                long serving = client.probe(s, PROBE_PATIENCE).getWeightVersion();
                if (published >= 0 && serving < published) {
                    LOG.info("rollout server {} answers with weight version {}, behind the trainer's {}: sending it the "
                            + "current weights", s, serving, published);
                    push.toReturning(published, s);
                }
                behind.remove(s);
                nextProbeNanos.remove(s);
                none = behind.isEmpty();
                LOG.info("rollout server {} is back with the trainer's weights (version {})", s, Math.max(serving, published));
            } catch (RolloutServerException e) {
                behind.put(s, e.status().getCode() == Status.Code.DEADLINE_EXCEEDED
                        ? "not reachable within " + PROBE_PATIENCE.toSeconds() + " s" : RemoteRollouts.statusText(e.status()));
                nextProbeNanos.put(s, System.nanoTime() + patience.maxBackoff().toNanos());
            } catch (WeightPushException e) {
                behind.put(s, e.getMessage());
                nextProbeNanos.put(s, System.nanoTime() + patience.maxBackoff().toNanos());
            }
        }
    }

    /** Waits with backoff until a server set aside is back and up to date; gives up after the retry policy's attempts. */
    void awaitAServer(String toDo, long published) {
        long start = System.nanoTime();
        for (int attempt = 1; attempt <= patience.maxAttempts(); attempt++) {
            Duration wait = patience.backoff(attempt);
            LOG.warn("no rollout server can {} ({}); trying again in {} s (attempt {} of {})", toDo, behind,
                    String.format("%.1f", wait.toMillis() / 1000.0), attempt, patience.maxAttempts());
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for a rollout server");
            }
            catchUp(true, published);
            if (!upToDate().isEmpty()) {
                return;
            }
        }
        throw new IllegalStateException("no rollout server came back within " + patience.maxAttempts() + " attempts over "
                + String.format("%.0f", (System.nanoTime() - start) / 1e9) + " s (" + behind + "); the run stops here. Once a "
                + "server is up, continue from the last checkpoint with --resume DIR (rollout.max_attempts and "
                + "rollout.retry_max_backoff_seconds set how long to wait)");
    }
}
