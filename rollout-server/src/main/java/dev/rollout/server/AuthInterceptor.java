package dev.rollout.server;

import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;

/**
 * Bearer-token check. By default only the RPCs that change server state (SyncWeights, ResetPrefixCache) need the
 * token; with {@code authAll} every RPC does, except the health service, which load balancers and Kubernetes probes
 * call without credentials.
 */
public final class AuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    /** Auth schemes are case-insensitive (RFC 7235 section 2.1): "bearer" and "BEARER" are as good as "Bearer". */
    private static final String SCHEME = "Bearer";
    private static final Set<String> PROTECTED = Set.of(
            RolloutServiceGrpc.getSyncWeightsMethod().getFullMethodName(),
            RolloutServiceGrpc.getResetPrefixCacheMethod().getFullMethodName());

    private final byte[] token;
    private final boolean all;

    public AuthInterceptor(String token, boolean all) {
        if (token.isBlank()) {
            throw new IllegalArgumentException("the auth token is empty; put a non-empty token in the --auth-token-file");
        }
        this.token = token.strip().getBytes(StandardCharsets.UTF_8);
        this.all = all;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (!requiresToken(method)) {
            return next.startCall(call, headers);
        }
        String header = headers.get(AUTHORIZATION);
        String problem = null;
        if (header == null) {
            problem = "missing 'authorization: Bearer <token>' metadata";
        } else if (!header.regionMatches(true, 0, SCHEME, 0, SCHEME.length())
                || header.length() == SCHEME.length() || header.charAt(SCHEME.length()) != ' ') {
            problem = "the authorization metadata must be 'Bearer <token>'";
        } else if (!MessageDigest.isEqual(token, header.substring(SCHEME.length()).strip().getBytes(StandardCharsets.UTF_8))) {
            // MessageDigest.isEqual takes the same time wherever the bytes differ; the token is never echoed or logged.
            problem = "the bearer token is wrong";
        }
        if (problem == null) {
            return next.startCall(call, headers);
        }
        call.close(Status.UNAUTHENTICATED.withDescription(problem + " (" + method + " requires the token of the server's --auth-token-file)"),
                new Metadata());
        return new ServerCall.Listener<>() {};
    }

    boolean requiresToken(String fullMethodName) {
        if (all) {
            return !fullMethodName.startsWith(HealthGrpc.SERVICE_NAME + "/");
        }
        return PROTECTED.contains(fullMethodName);
    }
}
