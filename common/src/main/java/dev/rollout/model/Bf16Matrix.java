package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import dev.rollout.weights.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A Hugging Face {@code [out, in]} projection weight rounded to bf16 (nearest even) in off-heap memory, and
 * {@code y = x · Wᵀ} over it for the few rows of a decode step, in fp32 arithmetic. A decode step with one to a few
 * sequences is bound by reading the weights, and bf16 halves the bytes read.
 *
 * <p>The kernel takes {@value #OUT_TILE} weight rows at a time, widens them to fp32 once into a scratch tile that stays
 * in L1 (bf16 to fp32 is exact: {@code bits << 16}), then multiplies every input row with them, {@value #ROW_GROUP}
 * rows at a time in registers. Every output element is one lane-wise fma chain over {@code in} in the same order, the
 * same lane sum and the same scalar tail, whatever the number of rows, their grouping or the split of the outputs over
 * threads: a row's result does not depend on the rows beside it.
 */
final class Bf16Matrix {
    private static final VectorSpecies<Float> LANES = VectorMath.LANES;
    private static final int L = LANES.length();
    /** As many bf16 values as one float vector has lanes. */
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(LANES.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED.withShape(LANES.vectorShape());
    static final int OUT_TILE = 4;
    static final int ROW_GROUP = 4;

    private final ByteBuffer bits;
    private final int out;
    private final int in;

    private Bf16Matrix(ByteBuffer bits, int out, int in) {
        this.bits = bits;
        this.out = out;
        this.in = in;
    }

    /** The bf16 rounding of a contiguous fp32 {@code [out, in]} CPU tensor. */
    static Bf16Matrix of(NDArray weight) {
        if (weight.getShape().dimension() != 2) {
            throw new IllegalArgumentException("a projection weight is [out, in], got " + weight.getShape());
        }
        int out = Math.toIntExact(weight.getShape().get(0));
        int in = Math.toIntExact(weight.getShape().get(1));
        if (2L * out * in > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a " + out + " x " + in + " weight exceeds the 2 GiB a bf16 copy may take;"
                    + " serve this model in fp32");
        }
        FloatBuffer src = weight.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        ByteBuffer bits = ByteBuffer.allocateDirect(2 * out * in)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < out * in; i++) {
            bits.putShort(2 * i, Half.bf16FromFloat(src.get(i)));
        }
        return new Bf16Matrix(bits, out, in);
    }

    int out() {
        return out;
    }

    int in() {
        return in;
    }

    /** Bytes held off-heap. */
    long bytes() {
        return 2L * out * in;
    }

    /** Element {@code [o, k]} widened to fp32. */
    float get(int o, int k) {
        return Float.intBitsToFloat(bits.getShort(2 * (o * in + k)) << 16);
    }

    /** Outputs {@code [from, to)} of {@code y[rows, out] = x[rows, in] · Wᵀ}, {@code x} and {@code y} row-major. */
    void multiply(float[] x, int rows, float[] y, int from, int to) {
        float[] tile = new float[OUT_TILE * in];
        float[] lanes = new float[L];
        int bound = LANES.loopBound(in);
        int o = from;
        for (; o + OUT_TILE <= to; o += OUT_TILE) {
            widen(o, OUT_TILE, tile);
            int r = 0;
            for (; r + ROW_GROUP <= rows; r += ROW_GROUP) {
                tile4x4(tile, x, r, y, o, bound, lanes);
            }
            for (; r < rows; r++) {
                tile4x1(tile, x, r, y, o, bound, lanes);
            }
        }
        for (; o < to; o++) {
            widen(o, 1, tile);
            for (int r = 0; r < rows; r++) {
                FloatVector a = FloatVector.zero(LANES);
                for (int k = 0; k < bound; k += L) {
                    a = FloatVector.fromArray(LANES, tile, k).fma(FloatVector.fromArray(LANES, x, r * in + k), a);
                }
                y[r * out + o] = finish(a, tile, 0, x, r * in, bound, lanes);
            }
        }
    }

    /** Weight rows {@code [o, o + count)} as fp32 into {@code tile}. */
    private void widen(int o, int count, float[] tile) {
        int n = count * in;
        int at = 2 * o * in;
        int bound = LANES.loopBound(n);
        int i = 0;
        for (; i < bound; i += L) {
            ((IntVector) ShortVector.fromByteBuffer(HALVES, bits, at + 2 * i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(tile, i);
        }
        for (; i < n; i++) {
            tile[i] = Float.intBitsToFloat(bits.getShort(at + 2 * i) << 16);
        }
    }

    private void tile4x4(float[] w, float[] x, int r, float[] y, int o, int bound, float[] lanes) {
        int x0 = r * in;
        FloatVector a00 = FloatVector.zero(LANES), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < bound; k += L) {
            FloatVector v0 = FloatVector.fromArray(LANES, w, k);
            FloatVector v1 = FloatVector.fromArray(LANES, w, in + k);
            FloatVector v2 = FloatVector.fromArray(LANES, w, 2 * in + k);
            FloatVector v3 = FloatVector.fromArray(LANES, w, 3 * in + k);
            FloatVector xk = FloatVector.fromArray(LANES, x, x0 + k);
            a00 = v0.fma(xk, a00); a01 = v1.fma(xk, a01); a02 = v2.fma(xk, a02); a03 = v3.fma(xk, a03);
            xk = FloatVector.fromArray(LANES, x, x0 + in + k);
            a10 = v0.fma(xk, a10); a11 = v1.fma(xk, a11); a12 = v2.fma(xk, a12); a13 = v3.fma(xk, a13);
            xk = FloatVector.fromArray(LANES, x, x0 + 2 * in + k);
            a20 = v0.fma(xk, a20); a21 = v1.fma(xk, a21); a22 = v2.fma(xk, a22); a23 = v3.fma(xk, a23);
            xk = FloatVector.fromArray(LANES, x, x0 + 3 * in + k);
            a30 = v0.fma(xk, a30); a31 = v1.fma(xk, a31); a32 = v2.fma(xk, a32); a33 = v3.fma(xk, a33);
        }
        // vectors kept in an array would be boxed: the sums are stored row by row
        store(w, x, r, y, o, bound, lanes, a00, a01, a02, a03);
        store(w, x, r + 1, y, o, bound, lanes, a10, a11, a12, a13);
        store(w, x, r + 2, y, o, bound, lanes, a20, a21, a22, a23);
        store(w, x, r + 3, y, o, bound, lanes, a30, a31, a32, a33);
    }

    private void tile4x1(float[] w, float[] x, int r, float[] y, int o, int bound, float[] lanes) {
        int x0 = r * in;
        FloatVector a0 = FloatVector.zero(LANES), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < bound; k += L) {
            FloatVector xk = FloatVector.fromArray(LANES, x, x0 + k);
            a0 = FloatVector.fromArray(LANES, w, k).fma(xk, a0);
            a1 = FloatVector.fromArray(LANES, w, in + k).fma(xk, a1);
            a2 = FloatVector.fromArray(LANES, w, 2 * in + k).fma(xk, a2);
            a3 = FloatVector.fromArray(LANES, w, 3 * in + k).fma(xk, a3);
        }
        store(w, x, r, y, o, bound, lanes, a0, a1, a2, a3);
    }

    /** Row {@code r}'s outputs {@code o .. o + 3} from their accumulators. */
    private void store(float[] w, float[] x, int r, float[] y, int o, int bound, float[] lanes,
            FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        int at = r * out + o;
        int x0 = r * in;
        y[at] = finish(a0, w, 0, x, x0, bound, lanes);
        y[at + 1] = finish(a1, w, in, x, x0, bound, lanes);
        y[at + 2] = finish(a2, w, 2 * in, x, x0, bound, lanes);
        y[at + 3] = finish(a3, w, 3 * in, x, x0, bound, lanes);
    }

    /** The lane sum of {@code acc} in lane order, then the inputs past the last whole vector. */
    private float finish(FloatVector acc, float[] w, int w0, float[] x, int x0, int bound, float[] lanes) {
        float s = VectorMath.sum(acc, lanes);
        for (int k = bound; k < in; k++) {
            s = Math.fma(w[w0 + k], x[x0 + k], s);
        }
        return s;
    }
}
