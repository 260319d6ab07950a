package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A sync retried with the version and content digest already serving succeeds without changing anything. */
class SyncRetryTest {
    private static final int CHUNK = 1 << 16;
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private WeightStream withDigest(long version, long seed) {
        Collection<HostTensor> tensors = TestServer.randomWeights(server.config, seed).values();
        return WeightStream.of(version, false, tensors, CHUNK).withDigest(WeightStream.digestOf(tensors));
    }

    private List<List<Integer>> greedyCompletions() {
        return server.blocking().generateBatch(TestServer.greedy(12, TestServer.tokens(5, 6, 7))).getCompletionsList().stream()
                .map(Completion::getTokenIdsList).toList();
    }

    private long version() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion();
    }

    private Status refusal(WeightStream stream) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(server.async()));
        return Status.fromThrowable(e.getCause());
    }

    @Test
    void aRetryOfTheServingVersionWithItsDigestSucceedsAsAlreadyApplied() throws Exception {
        SyncWeightsResponse first = withDigest(1, 2).send(server.async());
        assertFalse(first.getAlreadyApplied());
        List<List<Integer>> after = greedyCompletions();
        SyncWeightsResponse retry = withDigest(1, 2).send(server.async());
        assertTrue(retry.getAlreadyApplied());
        assertEquals(1, retry.getVersion());
        assertEquals(0, retry.getTensorsUpdated());
        assertEquals(1, version());
        assertEquals(after, greedyCompletions());
    }

    @Test
    void theServingVersionWithAnotherDigestIsRefusedAndChangesNothing() throws Exception {
        withDigest(1, 2).send(server.async());
        List<List<Integer>> after = greedyCompletions();
        Status status = refusal(withDigest(1, 3));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertTrue(status.getDescription().contains("already serving, synced with another header.content_digest"), status.getDescription());
        assertEquals(after, greedyCompletions());
    }

    @Test
    void theServingVersionWithoutADigestIsRefusedSayingSo() throws Exception {
        withDigest(1, 2).send(server.async());
        Status status = refusal(WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), CHUNK));
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertTrue(status.getDescription().contains("no header.content_digest"), status.getDescription());
    }

    @Test
    void aDigestThatDoesNotMatchTheTensorsIsRefusedAndChangesNothing() throws Exception {
        List<List<Integer>> before = greedyCompletions();
        Collection<HostTensor> other = TestServer.randomWeights(server.config, 3).values();
        WeightStream stream = WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), CHUNK)
                .withDigest(WeightStream.digestOf(other));
        Status status = refusal(stream);
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertTrue(status.getDescription().contains("content_digest does not match"), status.getDescription());
        assertEquals(0, version());
        assertEquals(before, greedyCompletions());
    }

    @Test
    void theTensorOrderDoesNotChangeTheDigest() {
        List<HostTensor> tensors = List.copyOf(TestServer.randomWeights(server.config, 2).values());
        List<HostTensor> reversed = new java.util.ArrayList<>(tensors);
        java.util.Collections.reverse(reversed);
        assertEquals(com.google.protobuf.ByteString.copyFrom(WeightStream.digestOf(tensors)),
                com.google.protobuf.ByteString.copyFrom(WeightStream.digestOf(reversed)));
    }
}
