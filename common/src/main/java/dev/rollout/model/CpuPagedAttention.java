package dev.rollout.model;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decode attention in Java SIMD (the incubating Vector API) over a paged KV cache in CPU memory. It reads each sequence's blocks where they lie,
 * through direct buffers aliasing the cache tensors, instead of gathering them into a new tensor first: the gather,
 * the transposed views and the dozen small tensor ops per layer that the tensor path needs cost several times the
 * arithmetic at decode sizes. Rows of q/k/v come as one flat array {@code [T, heads + 2 * kvHeads, headDim]}.
 *
 * <p>Cache layout: {@code [kvHeads, numBlocks, blockSize, headDim]}, so position {@code p} of a sequence, head
 * {@code h}, is at float {@code ((h * numBlocks + table[p / blockSize]) * blockSize + p % blockSize) * headDim}.
 * The JIT does not vectorise these loops on its own (float reductions must keep their order, and it gives up on the
 * nested axpy forms), which left a plain-Java version at scalar speed, slower than the tensor path; hence explicit lanes.
 * Callers check ({@link AttentionBackend}) that the module is present ({@code --add-modules jdk.incubator.vector}).
 * Not thread-safe: one instance per step (it keeps scratch arrays sized to the step's longest context).
 */
final class CpuPagedAttention {
    private static final VectorSpecies<Float> LANES = VectorMath.LANES;

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int group;
    private final int rowWidth;
    private final int blockSize;
    private final int numBlocks;
    private final float scale;
    private final float[] keys;    // one kv head's keys of one sequence, [context, headDim]
    private final float[] values;  // its values, [context, headDim]
    private final float[] scores;  // [group, context]
    private final float[] lanes = new float[LANES.length()];

    CpuPagedAttention(int heads, int kvHeads, int headDim, int blockSize, int numBlocks, int maxContext) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.group = heads / kvHeads;
        this.rowWidth = (heads + 2 * kvHeads) * headDim;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        int padded = (maxContext + blockSize - 1) / blockSize * blockSize;
        this.keys = new float[padded * headDim];
        this.values = new float[padded * headDim];
        this.scores = new float[group * padded];
    }

    /** Writes the k and v heads of {@code row} of {@code qkv} into the cache at flat slot {@code slot}. */
    void store(float[] qkv, int row, FloatBuffer keyCache, FloatBuffer valueCache, long slot) {
        int k = row * rowWidth + heads * headDim;
        int v = k + kvHeads * headDim;
        for (int h = 0; h < kvHeads; h++) {
            int at = Math.toIntExact(((long) h * numBlocks * blockSize + slot) * headDim);
            keyCache.put(at, qkv, k + h * headDim, headDim);
            valueCache.put(at, qkv, v + h * headDim, headDim);
        }
    }

    /**
     * Attends the (rotated) queries of {@code row} over positions {@code [0, contextLen)} of the sequence whose blocks
     * are {@code blockTable}; writes {@code heads * headDim} floats at {@code out[outOffset]}. Each block is copied
     * once into a scratch array (a memcpy of contiguous memory), then q·K, softmax and p·V run in SIMD lanes.
     */
    void attend(float[] qkv, int row, FloatBuffer keyCache, FloatBuffer valueCache, int[] blockTable, int contextLen,
            float[] out, int outOffset) {
        int n = contextLen;
        int dBound = LANES.loopBound(headDim);
        int nBound = LANES.loopBound(n);
        for (int h = 0; h < kvHeads; h++) {
            for (int b = 0; b * blockSize < n; b++) {
                int first = b * blockSize;
                int len = Math.min(blockSize, n - first) * headDim;
                int at = Math.toIntExact(((long) h * numBlocks + blockTable[b]) * blockSize * headDim);
                keyCache.get(at, keys, first * headDim, len);
                valueCache.get(at, values, first * headDim, len);
            }
            for (int g = 0; g < group; g++) {
                int q = row * rowWidth + (h * group + g) * headDim;
                int s = g * n;
                for (int j = 0; j < n; j++) {
                    int k = j * headDim;
                    FloatVector acc = FloatVector.zero(LANES);
                    int d = 0;
                    for (; d < dBound; d += LANES.length()) {
                        acc = FloatVector.fromArray(LANES, qkv, q + d).fma(FloatVector.fromArray(LANES, keys, k + d), acc);
                    }
                    float dot = VectorMath.sum(acc, lanes);
                    for (; d < headDim; d++) {
                        dot += qkv[q + d] * keys[k + d];
                    }
                    scores[s + j] = dot * scale;
                }
                softmax(s, n, nBound);
                int o = outOffset + (h * group + g) * headDim;
                int d = 0;
                for (; d < dBound; d += LANES.length()) {
                    FloatVector acc = FloatVector.zero(LANES);
                    for (int j = 0; j < n; j++) {
                        acc = FloatVector.fromArray(LANES, values, j * headDim + d).fma(FloatVector.broadcast(LANES, scores[s + j]), acc);
                    }
                    acc.intoArray(out, o + d);
                }
                for (; d < headDim; d++) {
                    float acc = 0;
                    for (int j = 0; j < n; j++) {
                        acc += scores[s + j] * values[j * headDim + d];
                    }
                    out[o + d] = acc;
                }
            }
        }
    }

    /** In place over {@code scores[s, s + n)}. */
    private void softmax(int s, int n, int nBound) {
        FloatVector maxes = FloatVector.broadcast(LANES, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j < nBound; j += LANES.length()) {
            maxes = maxes.max(FloatVector.fromArray(LANES, scores, s + j));
        }
        float max = maxes.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) {
            max = Math.max(max, scores[s + j]);
        }
        FloatVector sums = FloatVector.zero(LANES);
        for (j = 0; j < nBound; j += LANES.length()) {
            FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(LANES, scores, s + j).sub(max));
            e.intoArray(scores, s + j);
            sums = sums.add(e);
        }
        float sum = VectorMath.sum(sums, lanes);
        for (; j < n; j++) {
            float e = VectorMath.expNonPositive(scores[s + j] - max);
            scores[s + j] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (j = 0; j < nBound; j += LANES.length()) {
            FloatVector.fromArray(LANES, scores, s + j).mul(inv).intoArray(scores, s + j);
        }
        for (; j < n; j++) {
            scores[s + j] *= inv;
        }
    }
}
