package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** However a SyncWeights stream ends, the sync is released: the next valid sync is accepted and nothing changed. */
class SyncStreamEndTest {
    private static final int CHUNK = 1 << 20; // few messages per sync, so a valid one never idles between them
    private TestServer server;

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private WeightStream full(long version, long seed) {
        return WeightStream.of(version, false, TestServer.randomWeights(server.config, seed).values(), CHUNK);
    }

    private long version() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion();
    }

    /**
     * The server learns of a client's deadline or cancel a moment after the client does, so a sync right after may
     * still find the old stream's claim: retry ABORTED for a while, as a trainer would. A sync held forever fails here.
     */
    private void assertNextSyncAccepted(long version) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                assertEquals(version, full(version, 2).send(server.async()).getVersion());
                return;
            } catch (ExecutionException e) {
                Status status = Status.fromThrowable(e.getCause());
                if (status.getCode() != Status.Code.ABORTED || System.nanoTime() > deadline) {
                    throw new AssertionError("the sync after the broken one was refused: " + status, e);
                }
                Thread.sleep(50);
            }
        }
    }

    /** Sends the header and one chunk, then neither half-closes nor cancels. */
    private CompletableFuture<SyncWeightsResponse> stall(RolloutServiceGrpc.RolloutServiceStub stub) {
        CompletableFuture<SyncWeightsResponse> result = new CompletableFuture<>();
        StreamObserver<SyncWeightsChunk> requests = stub.syncWeights(WeightSyncTest.observerOf(result));
        WeightStream stream = full(1, 3);
        requests.onNext(stream.messages.get(0));
        requests.onNext(stream.messages.get(1));
        return result;
    }

    @Test
    void aStreamHalfClosedBeforeItsLastChunkIsRefusedAndReleasesTheSync() throws Exception {
        server = TestServer.start();
        WeightStream stream = full(1, 3);
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(server.async(), 2, false));
        assertEquals(Status.Code.INVALID_ARGUMENT, Status.fromThrowable(e.getCause()).getCode());
        assertEquals(0, version());
        assertNextSyncAccepted(1);
    }

    @Test
    void aStreamPastItsClientDeadlineReleasesTheSync() throws Exception {
        server = TestServer.start();
        CompletableFuture<SyncWeightsResponse> stalled = stall(server.async().withDeadlineAfter(300, TimeUnit.MILLISECONDS));
        ExecutionException e = assertThrows(ExecutionException.class, () -> stalled.get(60, TimeUnit.SECONDS));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, Status.fromThrowable(e.getCause()).getCode());
        assertEquals(0, version());
        assertNextSyncAccepted(1);
    }

    @Test
    void aStalledStreamIsAbandonedAfterTheIdleTimeoutAndReleasesTheSync() throws Exception {
        server = TestServer.start(ServerOptions.defaults(0).withSyncIdleTimeout(Duration.ofSeconds(2)));
        CompletableFuture<SyncWeightsResponse> stalled = stall(server.async());
        ExecutionException e = assertThrows(ExecutionException.class, () -> stalled.get(60, TimeUnit.SECONDS));
        Status status = Status.fromThrowable(e.getCause());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("--sync-idle-timeout"), status.getDescription());
        assertEquals(0, version());
        assertNextSyncAccepted(1);
    }
}
