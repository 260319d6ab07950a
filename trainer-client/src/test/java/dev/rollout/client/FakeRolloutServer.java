package dev.rollout.client;

import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A {@link FakeRolloutService} on a real Netty server on loopback, with the health service and header capture.
 * Message size limits are gRPC's defaults (4 MiB inbound), as a server that does not raise them has.
 */
final class FakeRolloutServer implements AutoCloseable {
    /** The authorization header of one call, null when absent. */
    record Call(String method, String authorization) {}

    final FakeRolloutService service;
    final HealthStatusManager health = new HealthStatusManager();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    private final Server server;

    private FakeRolloutServer(String name, int port) {
        this(name, port, InsecureServerCredentials.create());
    }

    private FakeRolloutServer(String name, int port, ServerCredentials credentials) {
        this.service = new FakeRolloutService(name);
        ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                calls.add(new Call(call.getMethodDescriptor().getBareMethodName(), headers.get(BearerToken.AUTHORIZATION)));
                return next.startCall(call, headers);
            }
        };
        try {
            this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port), credentials)
                    .addService(ServerInterceptors.intercept(service, capture))
                    .addService(ServerInterceptors.intercept(health.getHealthService(), capture))
                    .build().start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        health.setStatus("", ServingStatus.SERVING);
    }

    static FakeRolloutServer start(String name) {
        return new FakeRolloutServer(name, 0);
    }

    /** Serves TLS with the given credentials. */
    static FakeRolloutServer startTls(String name, ServerCredentials credentials) {
        return new FakeRolloutServer(name, 0, credentials);
    }

    static FakeRolloutServer startOn(String name, int port) {
        return new FakeRolloutServer(name, port);
    }

    /** A loopback port nothing listens on (right now). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ServerAddress address() {
        return new ServerAddress("127.0.0.1", server.getPort());
    }

    List<Call> callsOf(String method) {
        return calls.stream().filter(c -> c.method().equals(method)).toList();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }
}
