package dev.rollout.client;

import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The channel to one rollout server and the stubs over it, with the bearer token attached to every call. */
final class ServerConnection implements AutoCloseable {
    private final ServerAddress address;
    private final ManagedChannel channel;
    private final ClientConfig config;
    private final BearerToken token;

    ServerConnection(ServerAddress address, ClientConfig config) {
        this.address = address;
        this.config = config;
        this.channel = address.isInProcess()
                ? InProcessChannelBuilder.forName(address.inProcessName()).maxInboundMessageSize(config.maxInboundMessageBytes()).build()
                : NettyChannelBuilder.forAddress(address.host(), address.port(), credentials(config))
                        .maxInboundMessageSize(config.maxInboundMessageBytes())
                        .build();
        this.token = config.bearerToken() == null ? null : new BearerToken(config.bearerToken());
    }

    private static ChannelCredentials credentials(ClientConfig config) {
        if (config.caFile() == null) {
            return InsecureChannelCredentials.create();
        }
        try {
            return TlsChannelCredentials.newBuilder().trustManager(config.caFile().toFile()).build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CA certificate file " + config.caFile(), e);
        }
    }

    ServerAddress address() {
        return address;
    }

    /** A blocking stub limited to one call deadline from now. */
    RolloutServiceGrpc.RolloutServiceBlockingStub blocking() {
        RolloutServiceGrpc.RolloutServiceBlockingStub stub = RolloutServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(config.deadline().toNanos(), TimeUnit.NANOSECONDS);
        return token == null ? stub : stub.withCallCredentials(token);
    }

    /** An async stub; the caller sets the deadline that fits its call. */
    RolloutServiceGrpc.RolloutServiceStub async() {
        RolloutServiceGrpc.RolloutServiceStub stub = RolloutServiceGrpc.newStub(channel);
        return token == null ? stub : stub.withCallCredentials(token);
    }

    HealthGrpc.HealthBlockingStub health(Duration deadline) {
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
        return token == null ? stub : stub.withCallCredentials(token);
    }

    /**
     * Makes a unary call, repeating it with backoff while the server answers UNAVAILABLE; any other status fails at once.
     * Before each retry the channel's own reconnect backoff (which grows to two minutes) is reset, so the retry policy
     * alone decides how soon a server that has just started is reached.
     */
    <T> T call(String rpc, Function<RolloutServiceGrpc.RolloutServiceBlockingStub, T> call) {
        return call(rpc, call, config.retry().maxAttempts());
    }

    /** A unary call with a single attempt; the channel's reconnect backoff is reset first, so a server just back is reached. */
    <T> T callOnce(String rpc, Function<RolloutServiceGrpc.RolloutServiceBlockingStub, T> call) {
        channel.resetConnectBackoff();
        return call(rpc, call, 1);
    }

    /**
     * A unary call with a single attempt that waits up to {@code patience} for a connection, for probing a server
     * that may be down: a call on a channel that failed to connect would otherwise fail at once, even with the
     * server back.
     */
    <T> T probe(String rpc, Function<RolloutServiceGrpc.RolloutServiceBlockingStub, T> call, Duration patience) {
        channel.resetConnectBackoff();
        RolloutServiceGrpc.RolloutServiceBlockingStub stub = RolloutServiceGrpc.newBlockingStub(channel).withWaitForReady()
                .withDeadlineAfter(patience.toNanos(), TimeUnit.NANOSECONDS);
        try {
            return call.apply(token == null ? stub : stub.withCallCredentials(token));
        } catch (StatusRuntimeException e) {
            throw new RolloutServerException(address, rpc, e, 1);
        }
    }

    private <T> T call(String rpc, Function<RolloutServiceGrpc.RolloutServiceBlockingStub, T> call, int maxAttempts) {
        RetryPolicy retry = config.retry();
        for (int attempt = 1; ; attempt++) {
            try {
                return call.apply(blocking());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || attempt >= maxAttempts) {
                    throw new RolloutServerException(address, rpc, e, attempt);
                }
                sleep(retry.jitteredBackoff(attempt), rpc, attempt);
                channel.resetConnectBackoff();
            }
        }
    }

    void sleep(Duration wait, String rpc, int attempts) {
        try {
            Thread.sleep(wait.toMillis(), wait.toNanosPart() % 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RolloutServerException(address, rpc,
                    Status.CANCELLED.withDescription("interrupted while waiting to retry").asRuntimeException(), attempts);
        }
    }

    void resetConnectBackoff() {
        channel.resetConnectBackoff();
    }

    @Override
    public void close() {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
