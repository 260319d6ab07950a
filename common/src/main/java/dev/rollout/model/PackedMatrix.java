package dev.rollout.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A Hugging Face {@code [out, in]} weight stored transposed in column panels in a Java array, and the
 * product {@code y = x · Wᵀ} over it in Vector API lanes, for the skinny shapes of decode.
 *
 * <p>Layout: panels of {@link #tileWidth()} output columns, each {@code [in, width]} contiguous, so a register tile
 * streams its weights sequentially.
 *
 * <p>Why: libtorch's CPU GEMM (oneMKL's sgemm) reaches a fraction of the memory bandwidth at one row and well under
 * its large-shape rate at 8-64 rows (docs/benchmarks.md). The transposed layout lets every output lane accumulate over
 * {@code in} with a broadcast of one input float and one contiguous load of weights, so no horizontal sums are needed:
 * a 4-row by 4-vector register tile does 16 fused multiply-adds per 4 weight loads and each weight tile is streamed
 * once per 4 rows. Every output element is the same sequence of fused multiply-adds in the order of {@code in}, whatever
 * the row count, the tile it falls in or the column split between threads: a row's result does not depend on the
 * batch around it, and compiled and interpreted code give the same bits (lane-wise fma is exact IEEE).
 */
final class PackedMatrix {
    private static final VectorSpecies<Float> LANES = VectorMath.LANES;
    private static final int L = LANES.length();
    private static final int TILE = 4 * L;
    /** Inputs per pass over a panel: 128 x 64 floats of weights, 32 KiB, stay in L1 while the row groups reuse them. */
    private static final int DEPTH = 128;

    private final int in;
    private final int out;
    private final float[] wt; // panels of [in, width]

    private PackedMatrix(int in, int out, float[] wt) {
        this.in = in;
        this.out = out;
        this.wt = wt;
    }

    /** Packs {@code weight}, row-major {@code [out, in]} floats. */
    static PackedMatrix ofRowMajor(float[] weight, int out, int in) {
        if ((long) out * in != weight.length) {
            throw new IllegalArgumentException("weight has " + weight.length + " floats, not " + out + " x " + in);
        }
        float[] wt = new float[weight.length];
        for (int c0 = 0; c0 < out; c0 += TILE) {
            int width = Math.min(TILE, out - c0);
            int base = c0 * in;
            for (int c = c0; c < c0 + width; c++) {
                for (int i = 0; i < in; i++) {
                    wt[base + i * width + c - c0] = weight[c * in + i];
                }
            }
        }
        return new PackedMatrix(in, out, wt);
    }

    int in() {
        return in;
    }

    int out() {
        return out;
    }

    /** Columns one thread's share starts at come in multiples of this. */
    static int tileWidth() {
        return TILE;
    }

    /**
     * {@code y[r, c] = Σ_i x[r, i] · W[c, i]} for rows {@code [0, rows)} and output columns {@code [from, to)}; x is
     * {@code [rows, in]}, y {@code [rows, out]}, both row-major. {@code from} is a multiple of {@link #tileWidth()}
     * and {@code to} is one too or {@code out}, so that a split over threads cuts between panels. Those columns of
     * {@code y} hold zeros on entry: each pass over a slice of the inputs adds to them.
     */
    void multiply(float[] x, int rows, float[] y, int from, int to) {
        for (int c0 = from; c0 < to; c0 += TILE) {
            int width = Math.min(TILE, out - c0);
            int base = c0 * in;
            // Steps of DEPTH inputs keep the panel's slice in L1 while every row group passes over it; the partial
            // sums wait in y between steps, which leaves each element's order of operations unchanged.
            for (int i0 = 0; i0 < in; i0 += DEPTH) {
                int i1 = Math.min(in, i0 + DEPTH);
                if (width == TILE) {
                    int r = 0;
                    for (; r + 4 <= rows; r += 4) {
                        tile4x4(x, r, y, c0, base, i0, i1);
                    }
                    for (; r < rows; r++) {
                        tile1x4(x, r, y, c0, base, i0, i1);
                    }
                } else {
                    narrow(x, rows, y, c0, width, base, i0, i1);
                }
            }
        }
    }

    private void tile4x4(float[] x, int r, float[] y, int c, int base, int i0, int i1) {
        int y0 = r * out + c;
        int y1 = y0 + out;
        int y2 = y1 + out;
        int y3 = y2 + out;
        FloatVector a00 = FloatVector.fromArray(LANES, y, y0), a01 = FloatVector.fromArray(LANES, y, y0 + L), a02 = FloatVector.fromArray(LANES, y, y0 + 2 * L), a03 = FloatVector.fromArray(LANES, y, y0 + 3 * L);
        FloatVector a10 = FloatVector.fromArray(LANES, y, y1), a11 = FloatVector.fromArray(LANES, y, y1 + L), a12 = FloatVector.fromArray(LANES, y, y1 + 2 * L), a13 = FloatVector.fromArray(LANES, y, y1 + 3 * L);
        FloatVector a20 = FloatVector.fromArray(LANES, y, y2), a21 = FloatVector.fromArray(LANES, y, y2 + L), a22 = FloatVector.fromArray(LANES, y, y2 + 2 * L), a23 = FloatVector.fromArray(LANES, y, y2 + 3 * L);
        FloatVector a30 = FloatVector.fromArray(LANES, y, y3), a31 = FloatVector.fromArray(LANES, y, y3 + L), a32 = FloatVector.fromArray(LANES, y, y3 + 2 * L), a33 = FloatVector.fromArray(LANES, y, y3 + 3 * L);
        int x0 = r * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        for (int i = i0, w = base + i0 * TILE; i < i1; i++, w += TILE) {
            FloatVector w0 = FloatVector.fromArray(LANES, wt, w);
            FloatVector w1 = FloatVector.fromArray(LANES, wt, w + L);
            FloatVector w2 = FloatVector.fromArray(LANES, wt, w + 2 * L);
            FloatVector w3 = FloatVector.fromArray(LANES, wt, w + 3 * L);
            FloatVector b = FloatVector.broadcast(LANES, x[x0 + i]);
            a00 = w0.fma(b, a00);
            a01 = w1.fma(b, a01);
            a02 = w2.fma(b, a02);
            a03 = w3.fma(b, a03);
            b = FloatVector.broadcast(LANES, x[x1 + i]);
            a10 = w0.fma(b, a10);
            a11 = w1.fma(b, a11);
            a12 = w2.fma(b, a12);
            a13 = w3.fma(b, a13);
            b = FloatVector.broadcast(LANES, x[x2 + i]);
            a20 = w0.fma(b, a20);
            a21 = w1.fma(b, a21);
            a22 = w2.fma(b, a22);
            a23 = w3.fma(b, a23);
            b = FloatVector.broadcast(LANES, x[x3 + i]);
            a30 = w0.fma(b, a30);
            a31 = w1.fma(b, a31);
            a32 = w2.fma(b, a32);
            a33 = w3.fma(b, a33);
        }
        store(y, y0, a00, a01, a02, a03);
        store(y, y1, a10, a11, a12, a13);
        store(y, y2, a20, a21, a22, a23);
        store(y, y3, a30, a31, a32, a33);
    }

    private void tile1x4(float[] x, int r, float[] y, int c, int base, int i0, int i1) {
        int y0 = r * out + c;
        FloatVector a0 = FloatVector.fromArray(LANES, y, y0), a1 = FloatVector.fromArray(LANES, y, y0 + L), a2 = FloatVector.fromArray(LANES, y, y0 + 2 * L), a3 = FloatVector.fromArray(LANES, y, y0 + 3 * L);
        int x0 = r * in;
        for (int i = i0, w = base + i0 * TILE; i < i1; i++, w += TILE) {
            FloatVector b = FloatVector.broadcast(LANES, x[x0 + i]);
            a0 = FloatVector.fromArray(LANES, wt, w).fma(b, a0);
            a1 = FloatVector.fromArray(LANES, wt, w + L).fma(b, a1);
            a2 = FloatVector.fromArray(LANES, wt, w + 2 * L).fma(b, a2);
            a3 = FloatVector.fromArray(LANES, wt, w + 3 * L).fma(b, a3);
        }
        store(y, y0, a0, a1, a2, a3);
    }

    /** The last panel, narrower than a tile: whole vectors, then single columns, with the same fma order. */
    private void narrow(float[] x, int rows, float[] y, int c0, int width, int base, int i0, int i1) {
        for (int r = 0; r < rows; r++) {
            int x0 = r * in;
            int j = 0;
            for (; j + L <= width; j += L) {
                int at = r * out + c0 + j;
                FloatVector a = FloatVector.fromArray(LANES, y, at);
                for (int i = i0, w = base + i0 * width + j; i < i1; i++, w += width) {
                    a = FloatVector.fromArray(LANES, wt, w).fma(FloatVector.broadcast(LANES, x[x0 + i]), a);
                }
                a.intoArray(y, at);
            }
            for (; j < width; j++) {
                int at = r * out + c0 + j;
                float a = y[at];
                for (int i = i0, w = base + i0 * width + j; i < i1; i++, w += width) {
                    a = Math.fma(wt[w], x[x0 + i], a);
                }
                y[at] = a;
            }
        }
    }

    private static void store(float[] y, int at, FloatVector v0, FloatVector v1, FloatVector v2, FloatVector v3) {
        v0.intoArray(y, at);
        v1.intoArray(y, at + L);
        v2.intoArray(y, at + 2 * L);
        v3.intoArray(y, at + 3 * L);
    }
}
