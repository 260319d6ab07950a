package dev.rollout.server;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a request that cannot be parsed, or an exception that escapes a service method, with a status a person can
 * act on, instead of grpc-java's default (UNKNOWN "Application error processing RPC", a SEVERE stack trace per call,
 * and for a client stream a call whose observer never hears that it ended).
 *
 * <p>grpc-java parses a request before any listener sees it, so {@link #protect} first makes the service take raw
 * bytes ({@link ServerInterceptors#useInputStreamMessages}): parsing then happens inside {@code onMessage}, where this
 * interceptor catches it. Unparseable bytes get {@code INTERNAL} (gRPC's code for a message it cannot parse), invalid
 * UTF-8 in a string field {@code INVALID_ARGUMENT}; either is one rate-limited WARN line. Before closing the call it
 * tells the service the call was cancelled, so per-call state (a weight sync's lock) is released first.
 */
final class FailedCallInterceptor implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(FailedCallInterceptor.class);
    private static final RateLimitedLog unparseable = new RateLimitedLog(log, TimeUnit.SECONDS.toNanos(10));
    private static final RateLimitedLog failures = new RateLimitedLog(log, TimeUnit.SECONDS.toNanos(10));

    /** {@code service} with its requests parsed where a failure can be answered properly. */
    static ServerServiceDefinition protect(ServerServiceDefinition service) {
        return ServerInterceptors.intercept(ServerInterceptors.useInputStreamMessages(service), new FailedCallInterceptor());
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean closed;

            @Override
            public void onMessage(Q message) {
                if (!closed) {
                    guard(() -> super.onMessage(message));
                }
            }

            @Override
            public void onHalfClose() {
                if (!closed) {
                    guard(super::onHalfClose);
                }
            }

            @Override
            public void onReady() {
                if (!closed) {
                    guard(super::onReady);
                }
            }

            @Override
            public void onCancel() {
                if (!closed) {
                    super.onCancel();
                }
            }

            @Override
            public void onComplete() {
                if (!closed) {
                    super.onComplete();
                }
            }

            private void guard(Runnable callback) {
                try {
                    callback.run();
                } catch (RuntimeException e) {
                    closed = true;
                    Status status = statusFor(call.getMethodDescriptor().getBareMethodName(), e);
                    // The service hears of the end first, so that its per-call state (a weight sync's lock) is released
                    // before the client has the status and may start its next call.
                    super.onCancel();
                    try {
                        call.close(status, new Metadata());
                    } catch (IllegalStateException alreadyClosed) {
                        // The service had answered before it threw: the client has its status already.
                    }
                }
            }
        };
    }

    static Status statusFor(String method, RuntimeException e) {
        InvalidProtocolBufferException parse = parseFailure(e);
        if (parse != null) {
            boolean utf8 = String.valueOf(parse.getMessage()).contains("UTF-8");
            String message = utf8
                    ? "the " + method + " request has a string field that is not valid UTF-8; strings must be UTF-8 encoded"
                    : "the " + method + " request could not be parsed as protobuf (" + parse.getMessage() + "): the bytes were "
                            + "corrupted, or the client's rollout.proto differs from the server's (server reflection serves it)";
            unparseable.warn("refused an unparseable " + method + " request: " + parse.getMessage());
            return (utf8 ? Status.INVALID_ARGUMENT : Status.INTERNAL).withDescription(message);
        }
        if (failures.warn("internal failure in " + method + "; the caller got INTERNAL")) {
            log.warn("the failure:", e);
        }
        return Status.INTERNAL.withDescription(method + " failed inside the server (its log has the details)");
    }

    private static InvalidProtocolBufferException parseFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InvalidProtocolBufferException p) {
                return p;
            }
        }
        return null;
    }
}
