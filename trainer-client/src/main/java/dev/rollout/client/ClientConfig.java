package dev.rollout.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How the trainer reaches its rollout servers.
 *
 * @param servers             one or more servers; prompts are spread over them
 * @param caFile              PEM file of the CA that signed the servers' certificates; null for plaintext
 * @param bearerToken         sent as {@code authorization: Bearer <token>} on every call; null for none
 * @param deadline            limit on one call (one attempt); generation of a large batch can take minutes
 * @param retry               what to do while a server is UNAVAILABLE
 * @param maxInboundMessageBytes largest response accepted: a batch of 64 prompts × 64 samples × 2048 tokens with
 *                            log-probs is about 70 MB, well over gRPC's 4 MiB default
 */
public record ClientConfig(List<ServerAddress> servers, Path caFile, String bearerToken, Duration deadline,
                           RetryPolicy retry, int maxInboundMessageBytes) {

    public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(30);
    public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 512 * 1024 * 1024;

    public ClientConfig {
        servers = List.copyOf(servers);
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("no rollout server given");
        }
        if (deadline == null || deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("call deadline must be positive, got " + deadline);
        }
        if (retry == null) {
            throw new IllegalArgumentException("retry policy is null");
        }
        if (maxInboundMessageBytes <= 0) {
            throw new IllegalArgumentException("maxInboundMessageBytes must be positive, got " + maxInboundMessageBytes);
        }
        if (bearerToken != null && bearerToken.isBlank()) {
            throw new IllegalArgumentException("bearer token is blank (leave it unset for none)");
        }
    }

    /** Plaintext, no token, default deadline, retry policy and message limit. */
    public static ClientConfig of(List<ServerAddress> servers) {
        return new ClientConfig(servers, null, null, DEFAULT_DEADLINE, RetryPolicy.DEFAULT, DEFAULT_MAX_INBOUND_MESSAGE_BYTES);
    }

    /** Same as {@link #of(List)} from {@code host:port[,host:port...]}. */
    public static ClientConfig of(String servers) {
        return of(ServerAddress.parseList(servers));
    }

    public ClientConfig withTls(Path caFile) {
        return new ClientConfig(servers, caFile, bearerToken, deadline, retry, maxInboundMessageBytes);
    }

    public ClientConfig withBearerToken(String token) {
        return new ClientConfig(servers, caFile, token, deadline, retry, maxInboundMessageBytes);
    }

    public ClientConfig withDeadline(Duration callDeadline) {
        return new ClientConfig(servers, caFile, bearerToken, callDeadline, retry, maxInboundMessageBytes);
    }

    public ClientConfig withRetry(RetryPolicy policy) {
        return new ClientConfig(servers, caFile, bearerToken, deadline, policy, maxInboundMessageBytes);
    }

    @Override
    public String toString() {
        // never print the token
        return "ClientConfig[servers=" + servers + ", tls=" + (caFile != null) + ", token=" + (bearerToken != null)
                + ", deadline=" + deadline + ", retry=" + retry + ", maxInboundMessageBytes=" + maxInboundMessageBytes + "]";
    }
}
