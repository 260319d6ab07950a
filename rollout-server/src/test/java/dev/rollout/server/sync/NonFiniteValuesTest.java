package dev.rollout.server.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.weights.DType;
import dev.rollout.weights.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** NaN and infinities are found in every wire dtype; the largest finite values and subnormals are not flagged. */
class NonFiniteValuesTest {
    private static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static byte[] halves(boolean bf16, float... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putShort(bf16 ? Half.bf16FromFloat(f) : Half.fromFloat(f));
        }
        return b.array();
    }

    @Test
    void finiteExtremesAreAccepted() {
        assertEquals(-1, NonFiniteValues.firstIndex(f32(Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 0f, -0f), DType.F32));
        assertEquals(-1, NonFiniteValues.firstIndex(halves(false, 65504f, -65504f, 6e-8f, 0f), DType.F16));
        assertEquals(-1, NonFiniteValues.firstIndex(halves(true, 3.3e38f, -3.3e38f, 1e-40f, 0f), DType.BF16));
    }

    @Test
    void nanAndInfinitiesAreFoundInFp32() {
        assertEquals(2, NonFiniteValues.firstIndex(f32(1f, 2f, Float.NaN, 3f), DType.F32));
        assertEquals(0, NonFiniteValues.firstIndex(f32(Float.POSITIVE_INFINITY), DType.F32));
        assertEquals(1, NonFiniteValues.firstIndex(f32(0f, Float.NEGATIVE_INFINITY), DType.F32));
    }

    @Test
    void nanAndInfinitiesAreFoundInFp16AndBf16() {
        assertEquals(1, NonFiniteValues.firstIndex(halves(false, 1f, Float.NaN), DType.F16));
        assertEquals(0, NonFiniteValues.firstIndex(halves(false, Float.NEGATIVE_INFINITY), DType.F16));
        assertEquals(1, NonFiniteValues.firstIndex(halves(true, 1f, Float.NaN), DType.BF16));
        assertEquals(0, NonFiniteValues.firstIndex(halves(true, Float.POSITIVE_INFINITY), DType.BF16));
    }
}
