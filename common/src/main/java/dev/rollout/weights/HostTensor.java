package dev.rollout.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor in host memory: dtype, shape and little-endian row-major bytes. The bytes may be a slice of a
 * memory-mapped file; nothing is copied until {@link #toFloats()} is called.
 */
public final class HostTensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    public HostTensor(String name, DType dtype, long[] shape, ByteBuffer data) {
        long expected = numElements(shape) * dtype.bytes();
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(shape) + " and dtype "
                    + dtype + " needs " + expected + " bytes, got " + data.remaining());
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static HostTensor ofFloats(String name, long[] shape, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new HostTensor(name, DType.F32, shape, buf);
    }

    /** The values stored as {@code dtype}: fp16 and bf16 rounded to nearest even, as PyTorch's {@code .to()} does. */
    public static HostTensor ofFloats(String name, long[] shape, float[] values, DType dtype) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            putElement(buf, dtype, v);
        }
        return new HostTensor(name, dtype, shape, buf.flip());
    }

    /**
     * The tensor in another dtype (for saving or syncing weights compactly). Widening to fp32 is exact; narrowing
     * rounds to nearest even. Converts element by element, without an intermediate float array.
     */
    public static HostTensor convert(HostTensor source, DType target) {
        if (source.dtype == target) {
            return source;
        }
        long n = source.numElements();
        if (n * target.bytes() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + source.name + "' is too large to convert in one buffer");
        }
        ByteBuffer in = source.data();
        ByteBuffer out = ByteBuffer.allocate((int) n * target.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            putElement(out, target, element(in, source.dtype, i));
        }
        return new HostTensor(source.name, target, source.shape, out.flip());
    }

    private static float element(ByteBuffer b, DType dtype, int i) {
        return switch (dtype) {
            case F32 -> b.getFloat(4 * i);
            case BF16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
            case F16 -> Half.toFloat(b.getShort(2 * i));
        };
    }

    private static void putElement(ByteBuffer b, DType dtype, float v) {
        switch (dtype) {
            case F32 -> b.putFloat(v);
            case BF16 -> b.putShort(Half.bf16FromFloat(v));
            case F16 -> b.putShort(Half.fromFloat(v));
        }
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numElements() {
        return numElements(shape);
    }

    public long byteSize() {
        return numElements() * dtype.bytes();
    }

    /** A read-only little-endian view of the bytes, positioned at 0. */
    public ByteBuffer data() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The values widened to fp32: bf16 exactly (bits << 16), fp16 through {@link Float#float16ToFloat}-equivalent rules. */
    public float[] toFloats() {
        long n = numElements();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor '" + name + "' has " + n + " elements, too many for one array");
        }
        float[] out = new float[(int) n];
        ByteBuffer b = data();
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case BF16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Half.toFloat(b.getShort(2 * i));
                }
            }
        }
        return out;
    }

    public static long numElements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
