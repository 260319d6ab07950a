package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in Hugging Face's rotate-half convention, from precomputed tables:
 * {@code x * cos + rotateHalf(x) * sin} with the sign of rotate-half folded into the sine table, so a rotation costs
 * two slices, a concat, two multiplies and an add whatever the number of heads. The same tables are kept as Java
 * arrays for kernels that rotate in place on the CPU ({@link #rotate}); both round alike (a product, a product, a sum).
 */
public final class RotaryEmbedding implements AutoCloseable {
    private final int headDim;
    private final int numHeads;
    private final int numKvHeads;
    private final float[] cosTable;       // [maxPositions * headDim]
    private final float[] signedSinTable; // [maxPositions * headDim]
    private final NDArray cos;        // [maxPositions, headDim]: cos(p * f_i) for both halves
    private final NDArray signedSin;  // [maxPositions, headDim]: -sin for the first half, +sin for the second

    public RotaryEmbedding(ModelConfig config, NDManager manager) {
        this.headDim = config.headDim();
        this.numHeads = config.numHeads();
        this.numKvHeads = config.numKvHeads();
        int positions = config.maxPositionEmbeddings();
        float[] inv = inverseFrequencies(config);
        int half = headDim / 2;
        float[] c = new float[positions * headDim];
        float[] s = new float[positions * headDim];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                // float32 product, as transformers computes it, so positions far out round the same way
                float angle = (float) p * inv[i];
                float cv = (float) Math.cos(angle);
                float sv = (float) Math.sin(angle);
                c[p * headDim + i] = cv;
                c[p * headDim + half + i] = cv;
                s[p * headDim + i] = -sv;
                s[p * headDim + half + i] = sv;
            }
        }
        this.cosTable = c;
        this.signedSinTable = s;
        this.cos = manager.create(c, new Shape(positions, headDim));
        this.signedSin = manager.create(s, new Shape(positions, headDim));
    }

    /** The inverse frequencies, with Llama 3's smooth long-context scaling when configured. */
    static float[] inverseFrequencies(ModelConfig config) {
        int half = config.headDim() / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) config.headDim();
            inv[i] = 1.0f / (float) Math.pow(config.ropeTheta(), exponent);
        }
        ModelConfig.RopeScaling rs = config.ropeScaling();
        if (rs != null) {
            double lowWavelen = rs.originalMaxPositions() / rs.lowFreqFactor();
            double highWavelen = rs.originalMaxPositions() / rs.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) {
                    inv[i] = (float) (inv[i] / rs.factor());
                } else if (wavelen >= highWavelen) {
                    double smooth = (rs.originalMaxPositions() / wavelen - rs.lowFreqFactor())
                            / (rs.highFreqFactor() - rs.lowFreqFactor());
                    inv[i] = (float) ((1 - smooth) * inv[i] / rs.factor() + smooth * inv[i]);
                }
            }
        }
        return inv;
    }

    public int headDim() {
        return headDim;
    }

    /** Query heads, which lead each row of a fused qkv tensor. */
    public int numHeads() {
        return numHeads;
    }

    /** Key (and value) heads, which follow the query heads in a fused qkv tensor. */
    public int numKvHeads() {
        return numKvHeads;
    }

    /** The rotation at these positions (int64 [T]); tensor tables are looked up only if the tensor path asks. */
    public Rotation at(NDArray positions) {
        return new Rotation(positions);
    }

    /**
     * Rotates, in place, {@code heads} consecutive heads of {@code headDim} floats starting at {@code x[offset]}, for
     * a token at {@code position}: the same arithmetic as the tensor path, for CPU kernels.
     */
    public void rotate(float[] x, int offset, int heads, int position) {
        int half = headDim / 2;
        int t = position * headDim;
        for (int h = 0; h < heads; h++) {
            int o = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                float a = x[o + i];
                float b = x[o + half + i];
                x[o + i] = a * cosTable[t + i] + b * signedSinTable[t + i];
                x[o + half + i] = b * cosTable[t + half + i] + a * signedSinTable[t + half + i];
            }
        }
    }

    /** One forward's rotation: its positions, and their table rows once the tensor path has asked for them. */
    public final class Rotation {
        private final NDArray positions;
        private NDArray cosRows;       // [T, 1, headDim], broadcast over heads
        private NDArray signedSinRows;

        private Rotation(NDArray positions) {
            this.positions = positions;
        }

        public RotaryEmbedding embedding() {
            return RotaryEmbedding.this;
        }

        /** The manager of this forward's positions: what a context makes once for every layer of the forward lives there. */
        public NDManager owner() {
            return positions.getManager();
        }

        /** Rotates x [T, heads, headDim] with tensor ops (any device, differentiable). */
        public NDArray apply(NDArray x) {
            if (cosRows == null) {
                long t = positions.getShape().get(0);
                NDIndex rows = new NDIndex("{}", positions);
                cosRows = cos.get(rows).reshape(t, 1, headDim);
                signedSinRows = signedSin.get(rows).reshape(t, 1, headDim);
                // Made while the first layer runs, used by every layer: they live as long as the positions do, not
                // in that layer's scope.
                for (NDArray a : new NDArray[] {cosRows, signedSinRows}) {
                    NDScope.unregister(a);
                    a.attach(owner());
                }
            }
            // splits, not slices: under autograd a slice's backward zero-fills a tensor of the whole input
            NDList halves = x.split(2, x.getShape().dimension() - 1);
            NDArray rotated = NDArrays.concat(new NDList(halves.get(1), halves.get(0)), -1);
            return x.mul(cosRows).add(rotated.mul(signedSinRows));
        }

        /**
         * Splits qkv [T, heads + 2 kvHeads, headDim] into rotated q [T, heads, headDim], rotated k [T, kvHeads,
         * headDim] and v [T, kvHeads, headDim], with tensor ops: q and k are rotated together.
         */
        public NDList split(NDArray qkv) {
            NDList qkAndV = qkv.split(new long[] {numHeads + numKvHeads}, 1);
            NDList qk = apply(qkAndV.get(0)).split(new long[] {numHeads}, 1);
            return new NDList(qk.get(0), qk.get(1), qkAndV.get(1));
        }
    }

    @Override
    public void close() {
        cos.close();
        signedSin.close();
    }
}
