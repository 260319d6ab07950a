package dev.rollout.server;

import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.server.sync.AdapterServing;
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
        int maxRequestSequences,
        int maxQueuedSequences,
        int maxSyncWaitSeconds,
        int maxInboundMessageBytes,
        String authToken,
        boolean authAll,
        Path tlsCert,
        Path tlsKey,
        String device,
        String scheduler,
        Duration syncIdleTimeout,
        InflightWeightUpdate inflightWeightUpdate,
        AdapterServing adapterServing) {

    public static final int DEFAULT_MAX_N = 256;
    public static final int DEFAULT_MAX_QUEUED_REQUESTS = 1024;
    /** 64 prompts × n = 256, or 2048 × 8: a large GRPO generation batch; beyond it, split the request. */
    public static final int DEFAULT_MAX_REQUEST_SEQUENCES = 16384;
    /** Four such requests at once: a few KiB of bookkeeping per waiting sequence, so ~0.5 GiB of Java heap at most. */
    public static final int DEFAULT_MAX_QUEUED_SEQUENCES = 65536;
    public static final int DEFAULT_MAX_SYNC_WAIT_SECONDS = 10;
    public static final int DEFAULT_MAX_INBOUND_MESSAGE_BYTES = 256 << 20;
    /** Long enough for a trainer to encode its next chunk of a large model, short enough that a stalled one is noticed. */
    public static final long DEFAULT_SYNC_IDLE_TIMEOUT_SECONDS = 60;
    public static final Duration DEFAULT_SYNC_IDLE_TIMEOUT = Duration.ofSeconds(DEFAULT_SYNC_IDLE_TIMEOUT_SECONDS);

    /** The recomputing default: sync without waiting, and every later token from exactly the new policy. */
    public static final InflightWeightUpdate DEFAULT_INFLIGHT_WEIGHT_UPDATE = InflightWeightUpdate.RECOMPUTE;

    /** A decode step at the base's cost; the targeted matrices are held twice. */
    public static final AdapterServing DEFAULT_ADAPTER_SERVING = AdapterServing.MERGED;

    public ServerOptions {
        inflightWeightUpdate = inflightWeightUpdate == null ? DEFAULT_INFLIGHT_WEIGHT_UPDATE : inflightWeightUpdate;
        adapterServing = adapterServing == null ? DEFAULT_ADAPTER_SERVING : adapterServing;
        if (maxN <= 0) {
            throw new IllegalArgumentException("--max-n must be > 0, got " + maxN);
        }
        if (maxRequestSequences <= 0) {
            throw new IllegalArgumentException("--max-request-sequences must be > 0, got " + maxRequestSequences);
        }
        if (maxQueuedSequences < maxRequestSequences) {
            throw new IllegalArgumentException("--max-queued-sequences (" + maxQueuedSequences
                    + ") must be at least --max-request-sequences (" + maxRequestSequences + ")");
        }
        if (maxSyncWaitSeconds < 0) {
            throw new IllegalArgumentException("--max-sync-wait-seconds must be >= 0, got " + maxSyncWaitSeconds);
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
        return new ServerOptions(port, DEFAULT_MAX_N, DEFAULT_MAX_QUEUED_REQUESTS, DEFAULT_MAX_REQUEST_SEQUENCES,
                DEFAULT_MAX_QUEUED_SEQUENCES, DEFAULT_MAX_SYNC_WAIT_SECONDS, DEFAULT_MAX_INBOUND_MESSAGE_BYTES,
                null, false, null, null, "cpu", "continuous", DEFAULT_SYNC_IDLE_TIMEOUT, null, null);
    }

    public ServerOptions withAuth(String token, boolean all) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences, maxSyncWaitSeconds,
                maxInboundMessageBytes, token, all, tlsCert, tlsKey, device, scheduler, syncIdleTimeout, inflightWeightUpdate, adapterServing);
    }

    public ServerOptions withMaxQueuedRequests(int max) {
        return new ServerOptions(port, maxN, max, maxRequestSequences, maxQueuedSequences, maxSyncWaitSeconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, syncIdleTimeout, inflightWeightUpdate, adapterServing);
    }

    /** The per-request and the queue's sequence limits. */
    public ServerOptions withSequenceLimits(int perRequest, int queued) {
        return new ServerOptions(port, maxN, maxQueuedRequests, perRequest, queued, maxSyncWaitSeconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, syncIdleTimeout, inflightWeightUpdate, adapterServing);
    }

    public ServerOptions withMaxSyncWaitSeconds(int seconds) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences, seconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, syncIdleTimeout, inflightWeightUpdate, adapterServing);
    }

    public ServerOptions withSyncIdleTimeout(Duration timeout) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences, maxSyncWaitSeconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, timeout, inflightWeightUpdate, adapterServing);
    }

    public ServerOptions withInflightWeightUpdate(InflightWeightUpdate mode) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences, maxSyncWaitSeconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, syncIdleTimeout, mode, adapterServing);
    }

    public ServerOptions withAdapterServing(AdapterServing serving) {
        return new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences, maxSyncWaitSeconds,
                maxInboundMessageBytes, authToken, authAll, tlsCert, tlsKey, device, scheduler, syncIdleTimeout,
                inflightWeightUpdate, serving);
    }
}
