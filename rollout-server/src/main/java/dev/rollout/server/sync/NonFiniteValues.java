package dev.rollout.server.sync;

import dev.rollout.weights.DType;

/**
 * Finds NaN and infinities in little-endian tensor bytes without widening them: a value is non-finite exactly when
 * all its exponent bits are set, in fp32, fp16 and bf16 alike.
 */
final class NonFiniteValues {
    private NonFiniteValues() {}

    /** The index of the first NaN or infinite element, or -1 if every element is finite. */
    static long firstIndex(byte[] bytes, DType dtype) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i + 3 < bytes.length; i += 4) {
                    // The exponent is bits 23-30: the top 7 bits of byte 3 and the top bit of byte 2.
                    if ((bytes[i + 3] & 0x7f) == 0x7f && (bytes[i + 2] & 0x80) != 0) {
                        return i / 4;
                    }
                }
            }
            case BF16 -> {
                for (int i = 0; i + 1 < bytes.length; i += 2) {
                    if ((bytes[i + 1] & 0x7f) == 0x7f && (bytes[i] & 0x80) != 0) {
                        return i / 2;
                    }
                }
            }
            case F16 -> {
                for (int i = 0; i + 1 < bytes.length; i += 2) {
                    // The exponent is bits 10-14: bits 2-6 of the high byte.
                    if ((bytes[i + 1] & 0x7c) == 0x7c) {
                        return i / 2;
                    }
                }
            }
        }
        return -1;
    }
}
