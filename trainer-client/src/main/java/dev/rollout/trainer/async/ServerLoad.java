package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens in flight per server, as the producer counts them: each completion still being generated holds its
 * {@code max_tokens} budget until it arrives. A new group goes to the server with the fewest (the first listed on a
 * tie), so a server that finishes its groups sooner gets more of them. Not thread-safe: the producer holds its lock.
 */
final class ServerLoad {
    private final Map<ServerAddress, Long> tokens = new HashMap<>();

    void add(ServerAddress server, long tokenBudget) {
        tokens.merge(server, tokenBudget, Long::sum);
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
