package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.client.FakeRolloutService.ReceivedTensor;
import dev.rollout.proto.v1.DType;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class WeightPusherTest {
    /** 10 floats = 40 bytes, 3 floats = 12 bytes, and an empty tensor. */
    private static final HostTensor EMBED = HostTensor.ofFloats("model.embed_tokens.weight", new long[] {5, 2},
            new float[] {0f, 1f, -1f, 0.5f, 2f, -2f, 0.25f, 3f, -0.125f, 4f});
    private static final HostTensor NORM = HostTensor.ofFloats("model.norm.weight", new long[] {3}, new float[] {1.5f, -2f, 0.25f});
    private static final HostTensor EMPTY = HostTensor.ofFloats("model.empty", new long[] {0}, new float[0]);

    private static byte[] littleEndianFloats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private static byte[] littleEndianShorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    private static Map<String, ReceivedTensor> pushToOne(List<HostTensor> tensors, PushOptions options, long version) throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            List<ServerSyncResult> results = new WeightPusher(client, options).push(version, tensors, false);
            assertEquals(1, results.size());
            assertEquals(version, results.get(0).response().getVersion());
            return server.service.lastSync;
        }
    }

    @Test
    void headerCarriesVersionTensorCountAndPartial() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            new WeightPusher(client).push(4, List.of(EMBED, NORM), true);

            assertEquals(4, server.service.lastHeader.getVersion());
            assertEquals(2, server.service.lastHeader.getTensorCount());
            assertTrue(server.service.lastHeader.getPartial());
        }
    }

    @Test
    void headerCarriesTheContentDigestOfTheWireBytes() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            new WeightPusher(client, PushOptions.DEFAULT.withChunkBytes(16)).push(4, List.of(EMBED, NORM), true);

            java.util.zip.CRC32C embed = new java.util.zip.CRC32C();
            embed.update(littleEndianFloats(0f, 1f, -1f, 0.5f, 2f, -2f, 0.25f, 3f, -0.125f, 4f));
            java.util.zip.CRC32C norm = new java.util.zip.CRC32C();
            norm.update(littleEndianFloats(1.5f, -2f, 0.25f));
            byte[] expected = dev.rollout.weights.WeightDigest.of(List.of(
                    new dev.rollout.weights.WeightDigest.Entry(NORM.name(), dev.rollout.weights.DType.F32, new long[] {3}, (int) norm.getValue()),
                    new dev.rollout.weights.WeightDigest.Entry(EMBED.name(), dev.rollout.weights.DType.F32, new long[] {5, 2}, (int) embed.getValue())));
            assertArrayEquals(expected, server.service.lastHeader.getContentDigest().toByteArray());
        }
    }

    @Test
    void aPushWhoseDeadlinePassedAsItWasAppliedSucceedsOnItsRetry() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            server.service.syncErrorAfterApplying = Status.DEADLINE_EXCEEDED.withDescription("deadline passed");

            List<ServerSyncResult> results = new WeightPusher(client).push(3, List.of(EMBED, NORM), false);

            assertEquals(1, results.size());
            assertEquals(3, results.get(0).response().getVersion());
            assertTrue(results.get(0).response().getAlreadyApplied());
            assertEquals(3, server.service.weightVersion);
        }
    }

    @Test
    void chunksThatDoNotDivideTheTensorEndWithAShortChunk() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(EMBED, NORM), PushOptions.DEFAULT.withChunkBytes(16), 1);

        assertEquals(List.of(16, 16, 8), got.get(EMBED.name()).chunkSizes());
        assertEquals(List.of(12), got.get(NORM.name()).chunkSizes());
        assertArrayEquals(littleEndianFloats(0f, 1f, -1f, 0.5f, 2f, -2f, 0.25f, 3f, -0.125f, 4f), got.get(EMBED.name()).data());
        assertArrayEquals(littleEndianFloats(1.5f, -2f, 0.25f), got.get(NORM.name()).data());
    }

    @Test
    void chunksThatDivideTheTensorAreAllFull() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(EMBED, NORM), PushOptions.DEFAULT.withChunkBytes(8), 1);

        assertEquals(List.of(8, 8, 8, 8, 8), got.get(EMBED.name()).chunkSizes());
        assertEquals(List.of(8, 4), got.get(NORM.name()).chunkSizes());
        assertArrayEquals(littleEndianFloats(0f, 1f, -1f, 0.5f, 2f, -2f, 0.25f, 3f, -0.125f, 4f), got.get(EMBED.name()).data());
    }

    @Test
    void nameDtypeAndShapeArriveAsSent() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(EMBED, NORM), PushOptions.DEFAULT, 1);

        assertEquals(List.of(EMBED.name(), NORM.name()), List.copyOf(got.keySet()));
        assertEquals(DType.DTYPE_FLOAT32, got.get(EMBED.name()).dtype());
        assertEquals(List.of(5L, 2L), got.get(EMBED.name()).shape());
        assertEquals(List.of(3L), got.get(NORM.name()).shape());
    }

    @Test
    void aTensorWithNoElementsIsOneEmptyLastChunk() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(NORM, EMPTY), PushOptions.DEFAULT.withChunkBytes(8), 1);

        assertEquals(List.of(0), got.get(EMPTY.name()).chunkSizes());
        assertEquals(0, got.get(EMPTY.name()).data().length);
        assertEquals(List.of(0L), got.get(EMPTY.name()).shape());
    }

    @Test
    void fp16OnTheWireHalvesTheBytes() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(NORM),
                PushOptions.DEFAULT.withWireDType(dev.rollout.weights.DType.F16).withChunkBytes(4), 1);

        ReceivedTensor t = got.get(NORM.name());
        assertEquals(DType.DTYPE_FLOAT16, t.dtype());
        assertEquals(List.of(4, 2), t.chunkSizes());
        // IEEE binary16: 1.5 = 0x3E00, -2 = 0xC000, 0.25 = 0x3400
        assertArrayEquals(littleEndianShorts(0x3E00, 0xC000, 0x3400), t.data());
    }

    @Test
    void bf16OnTheWireKeepsTheUpperHalfOfEachFloat() throws Exception {
        Map<String, ReceivedTensor> got = pushToOne(List.of(NORM),
                PushOptions.DEFAULT.withWireDType(dev.rollout.weights.DType.BF16), 1);

        ReceivedTensor t = got.get(NORM.name());
        assertEquals(DType.DTYPE_BFLOAT16, t.dtype());
        // fp32 1.5 = 0x3FC00000, -2 = 0xC0000000, 0.25 = 0x3E800000
        assertArrayEquals(littleEndianShorts(0x3FC0, 0xC000, 0x3E80), t.data());
    }

    @Test
    void aTensorLargerThanTheFlowControlWindowArrivesIntact() throws Exception {
        int chunk = PushOptions.DEFAULT_CHUNK_BYTES;
        float[] values = new float[3 * chunk / 4 + 5]; // three full default chunks and 20 bytes
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f;
        }
        HostTensor big = HostTensor.ofFloats("lm_head.weight", new long[] {values.length}, values);

        Map<String, ReceivedTensor> got = pushToOne(List.of(big), PushOptions.DEFAULT, 1);

        assertEquals(List.of(chunk, chunk, chunk, 20), got.get(big.name()).chunkSizes());
        assertArrayEquals(littleEndianFloats(values), got.get(big.name()).data());
    }

    @Test
    void pushesToTwoServersInParallelAndReportsEach() throws Exception {
        try (FakeRolloutServer a = FakeRolloutServer.start("A");
             FakeRolloutServer b = FakeRolloutServer.start("B");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(a.address(), b.address())))) {
            // each fake holds its stream open until both have received a header: a push done one server after the
            // other would never get past the first
            CountDownLatch bothOpen = new CountDownLatch(2);
            a.service.syncRendezvous = bothOpen;
            b.service.syncRendezvous = bothOpen;

            List<ServerSyncResult> results = new WeightPusher(client, PushOptions.DEFAULT.withChunkBytes(16))
                    .push(3, List.of(EMBED, NORM), false);

            assertEquals(List.of(a.address(), b.address()), results.stream().map(ServerSyncResult::server).toList());
            for (ServerSyncResult r : results) {
                assertEquals(3, r.response().getVersion());
                assertEquals(2, r.response().getTensorsUpdated());
                assertEquals(52, r.bytesSent());
                assertEquals(52, r.response().getBytesReceived());
            }
            assertArrayEquals(littleEndianFloats(1.5f, -2f, 0.25f), b.service.lastSync.get(NORM.name()).data());
        }
    }

    @Test
    void aServerFailingTheSyncIsNamedWithItsReasonAndTheOthersAreReported() throws Exception {
        try (FakeRolloutServer good = FakeRolloutServer.start("good");
             FakeRolloutServer bad = FakeRolloutServer.start("bad");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(good.address(), bad.address())))) {
            bad.service.syncError = Status.INVALID_ARGUMENT.withDescription("unknown tensor model.norm.weight");

            WeightPushException e = assertThrows(WeightPushException.class,
                    () -> new WeightPusher(client).push(1, List.of(EMBED, NORM), false));

            assertEquals(List.of(bad.address()), List.copyOf(e.failures().keySet()));
            assertEquals(Status.Code.INVALID_ARGUMENT,
                    ((StatusRuntimeException) e.failures().get(bad.address())).getStatus().getCode());
            assertEquals(List.of(good.address()), e.succeeded().stream().map(ServerSyncResult::server).toList());
            assertTrue(e.getMessage().contains(bad.address().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("unknown tensor model.norm.weight"), e.getMessage());
            assertEquals(1, good.service.weightVersion);
            assertEquals(0, bad.service.weightVersion);
        }
    }

    @Test
    void aServerThatIsDownIsNamed() throws Exception {
        ServerAddress nobody = new ServerAddress("127.0.0.1", FakeRolloutServer.freePort());
        try (RolloutClient client = new RolloutClient(ClientConfig.of(List.of(nobody)))) {
            WeightPushException e = assertThrows(WeightPushException.class,
                    () -> new WeightPusher(client).push(1, List.of(NORM), false));

            assertTrue(e.getMessage().contains(nobody.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
        }
    }

    @Test
    void aTensorNamedTwiceIsRefusedBeforeAnythingIsSent() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new WeightPusher(client).push(1, List.of(NORM, NORM), false));

            assertTrue(e.getMessage().contains(NORM.name()), e.getMessage());
            assertFalse(server.calls.stream().anyMatch(c -> c.method().equals("SyncWeights")));
        }
    }
}
