package dev.rollout.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class HalfPrecisionTest {
    private static HostTensor allPatterns(DType dtype) {
        ByteBuffer b = ByteBuffer.allocate(65536 * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int bits = 0; bits < 65536; bits++) {
            b.putShort((short) bits);
        }
        return new HostTensor("all", dtype, new long[] {65536}, b.flip());
    }

    @Test
    void bf16WidensToFp32ByShiftingTheBitsExactly() {
        float[] widened = allPatterns(DType.BF16).toFloats();
        for (int bits = 0; bits < 65536; bits++) {
            assertEquals(bits << 16, Float.floatToRawIntBits(widened[bits]), "bf16 0x" + Integer.toHexString(bits));
        }
    }

    @Test
    void bf16NarrowingInvertsWideningForEveryNonNanPattern() {
        float[] widened = allPatterns(DType.BF16).toFloats();
        for (int bits = 0; bits < 65536; bits++) {
            if (!Float.isNaN(widened[bits])) {
                assertEquals(bits, Half.bf16FromFloat(widened[bits]) & 0xffff);
            }
        }
    }

    @Test
    void fp16RoundTripsEveryPatternIncludingSubnormalsAndInfinities() {
        float[] widened = allPatterns(DType.F16).toFloats();
        for (int bits = 0; bits < 65536; bits++) {
            if (Float.isNaN(widened[bits])) {
                assertTrue((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0, "only NaN patterns widen to NaN");
                assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(widened[bits]))));
            } else {
                assertEquals(bits, Half.fromFloat(widened[bits]) & 0xffff, "fp16 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void fp16SpecialValuesWidenToTheirIeeeMeaning() {
        assertEquals(0x1p-24f, Half.toFloat((short) 0x0001)); // smallest subnormal
        assertEquals(1023 * 0x1p-24f, Half.toFloat((short) 0x03ff)); // largest subnormal
        assertEquals(0x1p-14f, Half.toFloat((short) 0x0400)); // smallest normal
        assertEquals(65504f, Half.toFloat((short) 0x7bff));
        assertEquals(Float.POSITIVE_INFINITY, Half.toFloat((short) 0x7c00));
        assertEquals(Float.NEGATIVE_INFINITY, Half.toFloat((short) 0xfc00));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Half.toFloat((short) 0x8000)));
    }

    @Test
    void fp16NarrowingRoundsToNearestEvenAndOverflowsToInfinity() {
        assertEquals(0x3c00, Half.fromFloat(1f + 0x1p-11f) & 0xffff); // tie -> even (1.0)
        assertEquals(0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f) & 0xffff); // tie -> even (1 + 2^-9)
        assertEquals(0x7c00, Half.fromFloat(65520f) & 0xffff); // halfway past 65504 -> inf
        assertEquals(0x7bff, Half.fromFloat(65519f) & 0xffff);
        assertEquals(0x0000, Half.fromFloat(0x1p-25f) & 0xffff); // tie between 0 and the smallest subnormal -> 0
        assertEquals(0x0001, Half.fromFloat(0x1.8p-25f) & 0xffff);
        assertEquals(0x0400, Half.fromFloat(0x1p-14f - 0x1p-26f) & 0xffff); // rounds up out of the subnormals
    }
}
