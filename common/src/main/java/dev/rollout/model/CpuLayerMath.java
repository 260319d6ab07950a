package dev.rollout.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise parts of a decoder layer (RMSNorm, the residual add, SwiGLU) over row-major Java arrays, for CPU
 * serving steps of few rows ({@link CausalLM}): as tensor ops they are a dozen small libtorch calls per layer, each costing more in
 * dispatch (and, for the norm's mean, in waking libtorch's threads) than its arithmetic at decode sizes.
 *
 * <p>Each row is computed on its own, in one fixed order (lane-wise IEEE operations and a lane-order sum), so a row's
 * result does not depend on the rows beside it or on whether the JIT has compiled this code yet. The results differ
 * from libtorch's ops in the last bits; both attention backends run this same code, so they still agree.
 */
final class CpuLayerMath {
    /**
     * Steps of up to this many rows (decode batches) run here and their projections on {@link NativeProjection};
     * larger ones (prefill chunks, large decode batches) keep libtorch's ops, which use every core and do not start in
     * the interpreter: before the JIT had compiled this code, SwiGLU over 1,024 rows took 2.4 s for eight layers,
     * against 15 ms compiled. 32, not 64: at 64 sequences libtorch's GEMM beats the projection kernel, and the whole
     * step on libtorch ran 1.1x faster (docs/benchmarks.md). One bound for both, so that a row's bits change at one
     * batch size only.
     */
    static final int MAX_ROWS = 32;

    private static final VectorSpecies<Float> LANES = VectorMath.LANES;
    private static final int L = LANES.length();

    private CpuLayerMath() {}

    /** {@code x[r] / sqrt(mean(x[r]²) + eps) * weight} for each row {@code r} of {@code x [rows, weight.length]}. */
    static float[] rmsNorm(float[] x, float[] weight, float eps) {
        int n = weight.length;
        int rows = x.length / n;
        float[] y = new float[x.length];
        float[] lanes = new float[L];
        int bound = LANES.loopBound(n);
        for (int r = 0; r < rows; r++) {
            int at = r * n;
            FloatVector acc = FloatVector.zero(LANES);
            for (int k = 0; k < bound; k += L) {
                FloatVector v = FloatVector.fromArray(LANES, x, at + k);
                acc = v.fma(v, acc);
            }
            float squares = VectorMath.sum(acc, lanes);
            for (int k = bound; k < n; k++) {
                squares = Math.fma(x[at + k], x[at + k], squares);
            }
            float rms = (float) Math.sqrt(squares / n + eps);
            for (int k = 0; k < bound; k += L) {
                FloatVector.fromArray(LANES, x, at + k).div(rms).mul(FloatVector.fromArray(LANES, weight, k))
                        .intoArray(y, at + k);
            }
            for (int k = bound; k < n; k++) {
                y[at + k] = x[at + k] / rms * weight[k];
            }
        }
        return y;
    }

    /** {@code x += y}, element-wise. */
    static void addInPlace(float[] x, float[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("adding " + y.length + " values to " + x.length);
        }
        int bound = LANES.loopBound(x.length);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(LANES, x, i).add(FloatVector.fromArray(LANES, y, i)).intoArray(x, i);
        }
        for (; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /**
     * SwiGLU of a fused {@code [rows, 2 * inter]} gate/up projection (each row's gate first, then its up):
     * {@code gate · sigmoid(gate) · up}, {@code [rows, inter]}.
     */
    static float[] swiglu(float[] gateUp, int inter) {
        int rows = gateUp.length / (2 * inter);
        float[] y = new float[rows * inter];
        int bound = LANES.loopBound(inter);
        for (int r = 0; r < rows; r++) {
            int g = 2 * r * inter;
            int u = g + inter;
            int o = r * inter;
            for (int k = 0; k < bound; k += L) {
                FloatVector gate = FloatVector.fromArray(LANES, gateUp, g + k);
                gate.mul(sigmoid(gate)).mul(FloatVector.fromArray(LANES, gateUp, u + k)).intoArray(y, o + k);
            }
            for (int k = bound; k < inter; k++) {
                FloatVector gate = FloatVector.broadcast(LANES, gateUp[g + k]);
                y[o + k] = gate.mul(sigmoid(gate)).lane(0) * gateUp[u + k];
            }
        }
        return y;
    }

    /**
     * {@code 1 / (1 + e^-x)}, from {@code e^-|x|} so that the exponential's argument is never positive (where
     * {@link VectorMath#expNonPositive} holds): {@code 1 / (1 + e)} for {@code x >= 0}, {@code e / (1 + e)} below.
     */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector e = VectorMath.expNonPositive(x.abs().neg());
        FloatVector denominator = e.add(1f);
        VectorMask<Float> negative = x.lt(0f);
        return FloatVector.broadcast(LANES, 1f).blend(e, negative).div(denominator);
    }
}
