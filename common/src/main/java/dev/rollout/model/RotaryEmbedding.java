package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in Hugging Face's rotate-half convention, from precomputed tables:
 * {@code x * cos + rotateHalf(x) * sin} with the sign of rotate-half folded into the sine table, so a rotation costs
 * two slices, a concat, two multiplies and an add whatever the number of heads.
 */
public final class RotaryEmbedding implements AutoCloseable {
    private final int headDim;
    private final NDArray cos;        // [maxPositions, headDim]: cos(p * f_i) for both halves
    private final NDArray signedSin;  // [maxPositions, headDim]: -sin for the first half, +sin for the second

    public RotaryEmbedding(ModelConfig config, NDManager manager) {
        this.headDim = config.headDim();
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

    /** The tables' rows for these positions, shaped [T, 1, headDim] to broadcast over heads. */
    public Tables at(NDArray positions) {
        long t = positions.getShape().get(0);
        NDIndex rows = new NDIndex("{}", positions);
        return new Tables(cos.get(rows).reshape(t, 1, headDim), signedSin.get(rows).reshape(t, 1, headDim));
    }

    /** Rotates x [T, heads, headDim]. */
    public NDArray apply(NDArray x, Tables tables) {
        int half = headDim / 2;
        NDArray rotated = NDArrays.concat(new NDList(x.get(new NDIndex("..., {}:", half)), x.get(new NDIndex("..., :{}", half))), -1);
        return x.mul(tables.cos()).add(rotated.mul(tables.signedSin()));
    }

    public record Tables(NDArray cos, NDArray signedSin) {}

    @Override
    public void close() {
        cos.close();
        signedSin.close();
    }
}
