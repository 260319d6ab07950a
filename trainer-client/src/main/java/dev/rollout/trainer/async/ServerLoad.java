package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens in flight per server, and how long each has been silent, as the producer counts them: each completion still being generated holds its
 * {@code max_tokens} budget until it arrives. A new group goes to the server with the fewest (the first listed on a
 * tie), so a server that finishes its groups sooner gets more of them. Not thread-safe: the producer holds its lock.
 */
final class ServerLoad {
    private final Map<ServerAddress, Long> tokens = new HashMap<>();
    private final Map<ServerAddress, Long> lastHeardNanos = new HashMap<>();

    void add(ServerAddress server, long tokenBudget) {
        if (tokensInFlight(server) <= 0) {
            heard(server); // silence counts from when the server has work
        }
        tokens.merge(server, tokenBudget, Long::sum);
    }

    /** The server sent something (or answered a probe). */
    void heard(ServerAddress server) {
        lastHeardNanos.put(server, System.nanoTime());
    }

    /** How long the server has been silent at {@code nowNanos} since it last sent something or got work. */
    long silentNanos(ServerAddress server, long nowNanos) {
        return nowNanos - lastHeardNanos.getOrDefault(server, nowNanos);
    }

    void remove(ServerAddress server, long tokenBudget) {
        tokens.merge(server, -tokenBudget, Long::sum);
    }

    long tokensInFlight(ServerAddress server) {
        return tokens.getOrDefault(server, 0L);
    }

    /** The least-loaded of {@code available}; null when it is empty. */
    ServerAddress leastLoaded(List<ServerAddress> available) {
        ServerAddress best = null;
        for (ServerAddress s : available) {
            if (best == null || tokensInFlight(s) < tokensInFlight(best)) {
                best = s;
            }
        }
        return best;
    }
}
