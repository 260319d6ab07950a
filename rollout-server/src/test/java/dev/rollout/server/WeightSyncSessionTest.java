package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.server.sync.WeightSyncSession;
import dev.rollout.weights.Half;
import io.grpc.Status;
import io.grpc.StatusException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class WeightSyncSessionTest {
    private static final Map<String, long[]> MODEL = new LinkedHashMap<>();

    static {
        MODEL.put("a.weight", new long[] {2, 3});
        MODEL.put("b.weight", new long[] {4});
    }

    private final WeightSyncSession session = new WeightSyncSession(MODEL, 5);

    static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    static int crc(byte[] bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return (int) c.getValue();
    }

    static SyncWeightsChunk header(long version, int count, boolean partial) {
        return SyncWeightsChunk.newBuilder().setHeader(SyncWeightsHeader.newBuilder()
                .setVersion(version).setTensorCount(count).setPartial(partial)).build();
    }

    /** A chunk of bytes [from, to) of the tensor; the last one carries the CRC of all of {@code whole}. */
    static SyncWeightsChunk chunk(String name, DType dtype, long[] shape, byte[] whole, int from, int to) {
        TensorChunk.Builder c = TensorChunk.newBuilder().setName(name).setDtype(dtype).setOffset(from)
                .setData(ByteString.copyFrom(whole, from, to - from));
        for (long d : shape) {
            c.addShape(d);
        }
        if (to == whole.length) {
            c.setLast(true).setCrc32C(crc(whole));
        }
        return SyncWeightsChunk.newBuilder().setTensor(c).build();
    }

    private static final byte[] A = f32(1, 2, 3, 4, 5, 6);
    private static final byte[] B = f32(-1, -2, -3, -4);

    private void sendAll() throws StatusException {
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, new long[] {2, 3}, A, 0, A.length));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, B.length));
    }

    private static void assertRefused(String mentions, org.junit.jupiter.api.function.Executable action) {
        StatusException e = assertThrows(StatusException.class, action);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains(mentions), e.getStatus().getDescription());
    }

    @Test
    void assemblesAFullSyncSentInOneChunkPerTensor() throws StatusException {
        session.accept(header(6, 2, false));
        sendAll();
        WeightSyncSession.Staged staged = session.finish();
        assertEquals(6, staged.version());
        assertEquals(A.length + B.length, staged.bytesReceived());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, staged.tensors().get("a.weight").toFloats());
        assertArrayEquals(new float[] {-1, -2, -3, -4}, staged.tensors().get("b.weight").toFloats());
    }

    @Test
    void assemblesTensorsFromInterleavedChunksOfAnySize() throws StatusException {
        session.accept(header(6, 2, false));
        long[] a = {2, 3};
        long[] b = {4};
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, a, A, 0, 1));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, b, B, 0, 16));
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, a, A, 1, 13));
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, a, A, 13, 24));
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, session.finish().tensors().get("a.weight").toFloats());
    }

    @Test
    void widensFloat16AndBfloat16ToFloat32() throws StatusException {
        session.accept(header(6, 2, false));
        ByteBuffer half = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {0.5f, -2f, 1024f, 0.25f, 3f, -0.125f}) {
            half.putShort(Half.fromFloat(v));
        }
        ByteBuffer bf16 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {1.5f, -8f, 0f, 256f}) {
            bf16.putShort(Half.bf16FromFloat(v));
        }
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT16, new long[] {2, 3}, half.array(), 0, 12));
        session.accept(chunk("b.weight", DType.DTYPE_BFLOAT16, new long[] {4}, bf16.array(), 0, 8));
        var staged = session.finish();
        assertEquals(dev.rollout.weights.DType.F32, staged.tensors().get("a.weight").dtype());
        assertArrayEquals(new float[] {0.5f, -2f, 1024f, 0.25f, 3f, -0.125f}, staged.tensors().get("a.weight").toFloats());
        assertArrayEquals(new float[] {1.5f, -8f, 0f, 256f}, staged.tensors().get("b.weight").toFloats());
    }

    @Test
    void refusesAVersionThatDoesNotExceedTheServingOne() {
        assertRefused("does not exceed the serving version 5", () -> session.accept(header(5, 2, false)));
    }

    @Test
    void refusesTensorsBeforeTheHeaderAndASecondHeader() throws StatusException {
        assertRefused("before the header", () -> session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16)));
        session.accept(header(6, 2, false));
        assertRefused("second header", () -> session.accept(header(7, 2, false)));
    }

    @Test
    void refusesAnUnknownTensorName() throws StatusException {
        session.accept(header(6, 2, false));
        assertRefused("unknown tensor name 'c.weight'", () -> session.accept(chunk("c.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16)));
    }

    @Test
    void refusesAWrongShape() throws StatusException {
        session.accept(header(6, 2, false));
        assertRefused("shape [3, 2] does not match the model's [2, 3]",
                () -> session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, new long[] {3, 2}, A, 0, 24)));
    }

    @Test
    void refusesAnUnspecifiedDtype() throws StatusException {
        session.accept(header(6, 2, false));
        assertRefused("dtype", () -> session.accept(chunk("b.weight", DType.DTYPE_UNSPECIFIED, new long[] {4}, B, 0, 16)));
    }

    @Test
    void refusesAGapOrAnOverlapBetweenChunks() throws StatusException {
        session.accept(header(6, 2, false));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 8));
        assertRefused("contiguous", () -> session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 4, 16)));
    }

    @Test
    void refusesDataBeyondTheTensorsSize() throws StatusException {
        session.accept(header(6, 2, false));
        byte[] tooLong = f32(1, 2, 3, 4, 5);
        assertRefused("beyond the tensor's 16 bytes", () -> session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, tooLong, 0, 20)));
    }

    @Test
    void refusesACrcMismatch() throws StatusException {
        session.accept(header(6, 2, false));
        SyncWeightsChunk good = chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16);
        SyncWeightsChunk corrupted = good.toBuilder().setTensor(good.getTensor().toBuilder().setCrc32C(crc(B) ^ 1)).build();
        assertRefused("CRC32C mismatch", () -> session.accept(corrupted));
    }

    @Test
    void refusesATensorSentTwice() throws StatusException {
        session.accept(header(6, 2, false));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16));
        assertRefused("sent again", () -> session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16)));
    }

    @Test
    void refusesAFullSyncWithAMissingTensor() throws StatusException {
        session.accept(header(6, 0, false));
        session.accept(chunk("a.weight", DType.DTYPE_FLOAT32, new long[] {2, 3}, A, 0, A.length));
        assertRefused("missing 1: [b.weight]", session::finish);
    }

    @Test
    void acceptsAPartialSyncOfSomeTensors() throws StatusException {
        session.accept(header(6, 1, true));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 16));
        var staged = session.finish();
        assertTrue(staged.partial());
        assertEquals(java.util.Set.of("b.weight"), staged.tensors().keySet());
    }

    @Test
    void refusesATensorWithoutItsLastChunk() throws StatusException {
        session.accept(header(6, 1, true));
        session.accept(chunk("b.weight", DType.DTYPE_FLOAT32, new long[] {4}, B, 0, 8));
        assertRefused("'b.weight' is incomplete: 8 of 16 bytes", session::finish);
    }

    @Test
    void refusesACountDifferentFromTheHeaders() throws StatusException {
        session.accept(header(6, 3, false));
        sendAll();
        assertRefused("announced 3 tensors but 2 arrived", session::finish);
    }

    @Test
    void refusesAStreamWithoutAHeader() {
        assertRefused("without a header", session::finish);
    }
}
