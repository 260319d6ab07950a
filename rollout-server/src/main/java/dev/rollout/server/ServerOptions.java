package dev.rollout.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How the gRPC endpoint is exposed and limited. {@code authToken} null means no auth; {@code tlsCert}/{@code tlsKey}
 * null means plaintext.
 */
public record ServerOptions(
        int port,
        int maxN,
        int maxQueuedRequests,
        int maxInboundMessageBytes,
        String authToken,
        boolean authAll,
        Path tlsCert,
        Path tlsKey,
        String device,
        String scheduler,
        Duration syncIdleTimeout) {

    public static final int DEFAULT_MAX_N = 256;
    public static final int DEFAULT_MAX_QUEUED_REQUESTS = 1024;
    public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 256 << 20;
    /** Long enough for a trainer to encode its next chunk of a large model, short enough that a stalled one is noticed. */
    public static final long DEFAULT_SYNC_IDLE_TIMEOUT_SECONDS = 60;
    public static final Duration DEFAULT_SYNC_IDLE_TIMEOUT = Duration.ofSeconds(DEFAULT_SYNC_IDLE_TIMEOUT_SECONDS);

    public ServerOptions {
        if (maxN <= 0) {
            throw new IllegalArgumentException("--max-n must be > 0, got " + maxN);
        }
        if (maxInboundMessageBytes <= 0) {
            throw new IllegalArgumentException("--max-inbound-message-size must be > 0, got " + maxInboundMessageBytes);
        }
        if (syncIdleTimeout == null || syncIdleTimeout.isNegative() || syncIdleTimeout.isZero()) {
            throw new IllegalArgumentException("--sync-idle-timeout must be > 0 seconds, got " + syncIdleTimeout);
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
        }
    }

    /** Plaintext on the given port with the defaults for everything else. */
    public static ServerOptions defaults(int port) {
        return new ServerOptions(port, DEFAULT_MAX_N, DEFAULT_MAX_QUEUED_REQUESTS, DEFAULT_MAX_INBOUND_MESSAGE_BYTES,
                null, false, null, null, "cpu", "continuous", DEFAULT_SYNC_IDLE_TIMEOUT);
    }

    public ServerOptions withAuth(String token, boolean all) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxInboundMessageBytes, token, all, tlsCert, tlsKey, device, scheduler, syncIdleTimeout);
    }

    public ServerOptions withMaxQueuedRequests(int max) {
        return new ServerOptions(port, maxN, max, maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler,
                syncIdleTimeout);
    }

    public ServerOptions withSyncIdleTimeout(Duration timeout) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device,
                scheduler, timeout);
    }
}
