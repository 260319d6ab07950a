package dev.rollout.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts every finished RPC as {@code rollout_requests_total{method, status}}, whatever ended it: success, a
 * validation error, a refused token, a full queue or a client that went away.
 */
public final class MetricsInterceptor implements ServerInterceptor {
    private final MeterRegistry registry;

    public MetricsInterceptor(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        AtomicBoolean counted = new AtomicBoolean();
        ServerCall<Q, R> counting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (counted.compareAndSet(false, true)) {
                    count(method, status);
                }
                super.close(status, trailers);
            }
        };
        // A call the client cancels (or whose deadline passes) is never closed by the server: count it here.
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counting, headers)) {
            @Override
            public void onCancel() {
                if (counted.compareAndSet(false, true)) {
                    count(method, Status.CANCELLED);
                }
                super.onCancel();
            }
        };
    }

    private void count(String method, Status status) {
        Counter.builder("rollout.requests")
                .description("RPCs finished, by method and gRPC status")
                .tag("method", method == null ? "unknown" : method)
                .tag("status", status.getCode().name().toLowerCase(Locale.ROOT))
                .register(registry)
                .increment();
    }
}
