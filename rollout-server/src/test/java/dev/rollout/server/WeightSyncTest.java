package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** SyncWeights over a real server: a good sync changes what is generated; a bad one changes nothing at all. */
class WeightSyncTest {
    private static final int CHUNK = 4099; // small and odd: tensors span several chunks, boundaries fall mid-float
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private List<List<Integer>> greedyCompletions() {
        GenerateBatchResponse r = server.blocking().generateBatch(TestServer.greedy(12, TestServer.tokens(5, 6, 7), TestServer.tokens(40, 2)));
        return r.getCompletionsList().stream().map(Completion::getTokenIdsList).toList();
    }

    private long version() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion();
    }

    private WeightStream full(long version, long seed) {
        return WeightStream.of(version, false, TestServer.randomWeights(server.config, seed).values(), CHUNK);
    }

    private void assertRefusedAndUnchanged(WeightStream stream, String mentions) throws Exception {
        List<List<Integer>> before = greedyCompletions();
        long versionBefore = version();
        ExecutionException e = assertThrows(ExecutionException.class, () -> stream.send(server.async()));
        Status status = Status.fromThrowable(e.getCause());
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(mentions), status.getDescription());
        assertEquals(versionBefore, version());
        assertEquals(before, greedyCompletions());
    }

    @Test
    void aFullSyncChangesGreedyCompletionsAndBumpsTheVersion() throws Exception {
        List<List<Integer>> before = greedyCompletions();
        WeightStream stream = full(1, 2);
        SyncWeightsResponse response = stream.send(server.async());
        assertEquals(1, response.getVersion());
        assertEquals(TestServer.randomWeights(server.config, 2).size(), response.getTensorsUpdated());
        long bytes = TestServer.randomWeights(server.config, 2).values().stream().mapToLong(HostTensor::byteSize).sum();
        assertEquals(bytes, response.getBytesReceived());
        assertTrue(response.getSeconds() > 0);
        assertEquals(1, version());
        List<List<Integer>> after = greedyCompletions();
        assertNotEquals(before, after);
        server.blocking().generateBatch(TestServer.greedy(3, TestServer.tokens(5))).getCompletionsList()
                .forEach(c -> assertEquals(1, c.getWeightVersion()));
    }

    @Test
    void syncingTheOriginalWeightsBackRestoresTheOriginalCompletions() throws Exception {
        List<List<Integer>> original = greedyCompletions();
        full(1, 2).send(server.async());
        full(2, 1).send(server.async());
        assertEquals(original, greedyCompletions());
    }

    @Test
    void aPartialSyncReplacesOnlyTheSentTensors() throws Exception {
        Map<String, HostTensor> seed2 = TestServer.randomWeights(server.config, 2);
        Map<String, HostTensor> seed1 = TestServer.randomWeights(server.config, 1);
        // Sending seed 1's own embedding back changes nothing; then the full seed-2 set equals embedding-only + the rest.
        List<List<Integer>> original = greedyCompletions();
        SyncWeightsResponse r = WeightStream.of(1, true, List.of(seed1.get("model.embed_tokens.weight")), CHUNK).send(server.async());
        assertEquals(1, r.getTensorsUpdated());
        assertEquals(original, greedyCompletions());
        full(2, 2).send(server.async());
        List<List<Integer>> seed2Completions = greedyCompletions();
        full(3, 1).send(server.async());
        List<HostTensor> allButEmbedding = new ArrayList<>(seed2.values());
        allButEmbedding.removeIf(t -> t.name().equals("model.embed_tokens.weight"));
        WeightStream.of(4, true, allButEmbedding, CHUNK).send(server.async());
        WeightStream.of(5, true, List.of(seed2.get("model.embed_tokens.weight")), CHUNK).send(server.async());
        assertEquals(seed2Completions, greedyCompletions());
        assertEquals(5, version());
    }

    @Test
    void aWrongShapeChangesNothing() throws Exception {
        WeightStream stream = full(1, 2).edit(1, m -> SyncWeightsChunk.newBuilder()
                .setTensor(m.getTensor().toBuilder().clearShape().addShape(1).addShape(m.getTensor().getShape(0) * m.getTensor().getShape(1))).build());
        assertRefusedAndUnchanged(stream, "does not match the model's");
    }

    @Test
    void anUnknownTensorNameChangesNothing() throws Exception {
        WeightStream stream = full(1, 2).edit(1, m -> SyncWeightsChunk.newBuilder()
                .setTensor(m.getTensor().toBuilder().setName("model.embed_tokens.weights")).build());
        assertRefusedAndUnchanged(stream, "unknown tensor name 'model.embed_tokens.weights'");
    }

    @Test
    void anUnspecifiedDtypeChangesNothing() throws Exception {
        WeightStream stream = full(1, 2).edit(1, m -> SyncWeightsChunk.newBuilder()
                .setTensor(m.getTensor().toBuilder().setDtype(dev.rollout.proto.v1.DType.DTYPE_UNSPECIFIED)).build());
        assertRefusedAndUnchanged(stream, "dtype DTYPE_UNSPECIFIED");
    }

    @Test
    void aBadCrcChangesNothing() throws Exception {
        WeightStream good = full(1, 2);
        int last = good.messages.size() - 1;
        WeightStream stream = good.edit(last, m -> SyncWeightsChunk.newBuilder()
                .setTensor(m.getTensor().toBuilder().setCrc32C(m.getTensor().getCrc32C() + 1)).build());
        assertRefusedAndUnchanged(stream, "CRC32C mismatch");
    }

    @Test
    void aNaNWeightIsRefusedNamingTheTensorAndChangesNothing() throws Exception {
        assertRefusedAndUnchanged(withOneValue(Float.NaN), "tensor 'model.norm.weight': element 3 is NaN or infinite");
    }

    @Test
    void anInfiniteWeightIsRefusedNamingTheTensorAndChangesNothing() throws Exception {
        assertRefusedAndUnchanged(withOneValue(Float.NEGATIVE_INFINITY), "tensor 'model.norm.weight': element 3 is NaN or infinite");
    }

    /** A full sync of seed 2 with element 3 of the final norm set to {@code value}, CRCs right. */
    private WeightStream withOneValue(float value) {
        Map<String, HostTensor> tensors = TestServer.randomWeights(server.config, 2);
        HostTensor norm = tensors.get("model.norm.weight");
        float[] values = norm.toFloats();
        values[3] = value;
        tensors.put(norm.name(), HostTensor.ofFloats(norm.name(), norm.shape(), values));
        return WeightStream.of(1, false, tensors.values(), CHUNK);
    }

    @Test
    void aMissingTensorChangesNothing() throws Exception {
        List<HostTensor> tensors = new ArrayList<>(TestServer.randomWeights(server.config, 2).values());
        tensors.remove(tensors.size() - 1);
        WeightStream stream = WeightStream.of(1, false, tensors, CHUNK);
        assertRefusedAndUnchanged(stream, "must send every tensor");
    }

    @Test
    void aStaleVersionChangesNothing() throws Exception {
        full(3, 2).send(server.async());
        assertRefusedAndUnchanged(full(3, 1), "does not exceed the serving version 3");
        assertRefusedAndUnchanged(full(2, 1), "does not exceed the serving version 3");
    }

    @Test
    void aStreamCutInTheMiddleChangesNothingAndTheNextSyncWorks() throws Exception {
        List<List<Integer>> before = greedyCompletions();
        WeightStream stream = full(1, 2);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> stream.send(server.async(), stream.messages.size() / 2, true));
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(e.getCause()).getCode());
        assertEquals(0, version());
        assertEquals(before, greedyCompletions());
        // the cut stream released the sync slot
        assertEquals(1, full(1, 2).send(server.async()).getVersion());
    }

    @Test
    void aSecondConcurrentSyncIsAbortedAndChangesNothing() throws Exception {
        CompletableFuture<SyncWeightsResponse> firstResult = new CompletableFuture<>();
        StreamObserver<SyncWeightsChunk> first = server.async().syncWeights(observerOf(firstResult));
        WeightStream stream = full(1, 2);
        first.onNext(stream.messages.get(0));
        first.onNext(stream.messages.get(1));
        version(); // a round trip on the same connection, by which time the server has started the first stream
        ExecutionException e = assertThrows(ExecutionException.class, () -> full(2, 3).send(server.async()));
        assertEquals(Status.Code.ABORTED, Status.fromThrowable(e.getCause()).getCode());
        for (int i = 2; i < stream.messages.size(); i++) {
            first.onNext(stream.messages.get(i));
        }
        first.onCompleted();
        assertEquals(1, firstResult.get(60, TimeUnit.SECONDS).getVersion());
        assertEquals(1, version());
    }

    @Test
    void underWaitASyncDuringGenerationFailsNoRequestAndEveryCompletionMatchesItsRecordedVersion() throws Exception {
        server.close();
        server = TestServer.start(ServerOptions.defaults(0).withInflightWeightUpdate(InflightWeightUpdate.WAIT));
        GenerateBatchResponse atVersion0 = server.blocking().generateBatch(TestServer.greedy(40, TestServer.tokens(9, 8, 7)));
        full(1, 2).send(server.async());
        GenerateBatchResponse atVersion1 = server.blocking().generateBatch(TestServer.greedy(40, TestServer.tokens(9, 8, 7)));
        full(2, 1).send(server.async()); // version 2 has the weights of version 0
        Map<Long, List<Integer>> expected = Map.of(
                2L, atVersion0.getCompletions(0).getTokenIdsList(),
                3L, atVersion1.getCompletions(0).getTokenIdsList());

        List<CompletableFuture<GenerateBatchResponse>> inFlight = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 8; i++) {
            CompletableFuture<GenerateBatchResponse> f = new CompletableFuture<>();
            server.async().generateBatch(TestServer.greedy(40, TestServer.tokens(9, 8, 7)), observerOf(f));
            inFlight.add(f);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getKvCache().getFreeBlocks() == TestServer.NUM_BLOCKS
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(3, full(3, 2).send(server.async()).getVersion());
        for (int i = 0; i < 4; i++) {
            CompletableFuture<GenerateBatchResponse> f = new CompletableFuture<>();
            server.async().generateBatch(TestServer.greedy(40, TestServer.tokens(9, 8, 7)), observerOf(f));
            inFlight.add(f);
        }
        java.util.Set<Long> versions = new java.util.TreeSet<>();
        for (CompletableFuture<GenerateBatchResponse> f : inFlight) {
            Completion c = f.get(60, TimeUnit.SECONDS).getCompletions(0);
            versions.add(c.getWeightVersion());
            assertEquals(dev.rollout.proto.v1.FinishReason.FINISH_REASON_LENGTH, c.getFinishReason());
            assertEquals(expected.get(c.getWeightVersion()), c.getTokenIdsList(), "completion stamped version " + c.getWeightVersion());
        }
        assertEquals(java.util.Set.of(2L, 3L), versions, "requests ran both before and after the sync");
    }

    static <T> StreamObserver<T> observerOf(CompletableFuture<T> result) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {}
        };
    }
}
