package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ResetPrefixCacheRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** With a token configured, the state-changing RPCs (or, with --auth-all, every RPC) need it. */
class AuthTest {
    private static final String TOKEN = "s3cret-token";
    private TestServer server;

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private static Metadata bearer(String token) {
        Metadata m = new Metadata();
        m.put(AuthInterceptor.AUTHORIZATION, "Bearer " + token);
        return m;
    }

    private RolloutServiceGrpc.RolloutServiceStub asyncWith(String token) {
        return server.async().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(token)));
    }

    private List<List<Integer>> completions() {
        return server.blocking().generateBatch(TestServer.greedy(10, TestServer.tokens(5, 6)))
                .getCompletionsList().stream().map(c -> c.getTokenIdsList()).toList();
    }

    private static Status statusOf(ExecutionException e) {
        return Status.fromThrowable(e.getCause());
    }

    @Test
    void syncWeightsWithoutTheTokenIsUnauthenticatedAndChangesNothing() throws Exception {
        server = TestServer.start(ServerOptions.defaults(0).withAuth(TOKEN, false));
        List<List<Integer>> before = completions();
        WeightStream stream = WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), 4096);
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(server.async()));
        assertEquals(Status.Code.UNAUTHENTICATED, statusOf(e).getCode());
        assertTrue(statusOf(e).getDescription().contains("missing 'authorization: Bearer <token>'"), statusOf(e).getDescription());
        assertEquals(0, server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion());
        assertEquals(before, completions());
    }

    @Test
    void syncWeightsWithAWrongTokenIsUnauthenticated() {
        server = assertDoesStart(false);
        WeightStream stream = WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), 4096);
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(asyncWith("s3cret-tokem")));
        assertEquals(Status.Code.UNAUTHENTICATED, statusOf(e).getCode());
        assertTrue(statusOf(e).getDescription().contains("wrong"));
    }

    @Test
    void syncWeightsWithTheTokenSucceeds() throws Exception {
        server = assertDoesStart(false);
        WeightStream stream = WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), 4096);
        assertEquals(1, stream.send(asyncWith(TOKEN)).getVersion());
    }

    @Test
    void theBearerSchemeIsCaseInsensitive() throws Exception {
        server = assertDoesStart(false);
        for (String scheme : List.of("bearer ", "BEARER ")) {
            Metadata m = new Metadata();
            m.put(AuthInterceptor.AUTHORIZATION, scheme + TOKEN);
            server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m))
                    .resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance());
        }
    }

    @Test
    void aSchemeWithoutASpaceBeforeTheTokenIsRefused() {
        server = assertDoesStart(false);
        Metadata m = new Metadata();
        m.put(AuthInterceptor.AUTHORIZATION, "Bearer" + TOKEN);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> server.blocking()
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m)).resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    }

    @Test
    void aWrongTokenIsNotEchoedInTheRefusal() {
        server = assertDoesStart(false);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> server.blocking()
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer("guessed-token-123")))
                .resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        assertTrue(!e.getStatus().getDescription().contains("guessed-token-123") && !e.getStatus().getDescription().contains(TOKEN),
                e.getStatus().getDescription());
    }

    @Test
    void resetPrefixCacheNeedsTheTokenButGenerationDoesNot() {
        server = assertDoesStart(false);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> server.blocking().resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        assertEquals(1, completions().size());
        server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(TOKEN)))
                .resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance());
    }

    @Test
    void authAllProtectsEveryRpcButTheHealthCheck() {
        server = assertDoesStart(true);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, this::completions);
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        e = assertThrows(StatusRuntimeException.class, () -> server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        HealthGrpc.newBlockingStub(server.channel).check(HealthCheckRequest.getDefaultInstance());
        assertEquals(0, server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(TOKEN)))
                .getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion());
    }

    private static TestServer assertDoesStart(boolean all) {
        try {
            return TestServer.start(ServerOptions.defaults(0).withAuth(TOKEN, all));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
