package dev.rollout.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decode attention in Java SIMD (the incubating Vector API) over a paged KV cache in CPU memory. It reads each
 * sequence's K and V where they lie, through direct buffers aliasing the cache tensors: no gather into a new tensor
 * (the tensor path's gather, transposed views and dozen small ops per layer cost several times the arithmetic at
 * decode sizes) and no copy into scratch arrays either. Rows of q/k/v come as one flat array
 * {@code [T, heads + 2 * kvHeads, headDim]}.
 *
 * <p>Cache layout: {@code [kvHeads, numBlocks, blockSize, headDim]}, so position {@code p} of a sequence, head
 * {@code h}, is at float {@code ((h * numBlocks + table[p / blockSize]) * blockSize + p % blockSize) * headDim}.
 * Each key is loaded once for all the query heads of its group, and each of its dot products summed in lane order
 * ({@link VectorMath#sum}); p·V keeps each output lane one chain of fused multiply-adds in key order. (Summing the
 * lanes of sixteen keys at once as a tree of blends and permutes measured up to twice as fast here, but C2 compiled
 * it to other bits than the interpreter computes for some inputs, so it is not used.) Every sum has a fixed
 * order that depends on the sequence alone: results do not depend on the batch, or on whether the JIT has compiled
 * the code yet ({@link VectorMath}). The JIT does not vectorise these loops on its own (float reductions must keep
 * their order), hence explicit lanes. Callers check ({@link AttentionBackend}) that the module is present
 * ({@code --add-modules jdk.incubator.vector}). Not thread-safe: one instance per thread (it keeps scratch arrays
 * sized to the step's longest context).
 */
final class CpuPagedAttention {
    private static final VectorSpecies<Float> LANES = VectorMath.LANES;
    private static final int L = LANES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int dBound;      // headDim rounded down to whole vectors; the rest is done in scalars
    private final int group;
    private final int rowWidth;
    private final int blockSize;
    private final int numBlocks;
    private final float scale;
    private final int stride;      // one query head's scores: the longest context
    private final float[] scores;  // [group, stride]
    private final float[] partials; // [group, L]: one key's partial dot products, lane-wise
    private final float[] lanes = new float[L];
    private final int[] slots;     // [stride]: byte offset of each position of the sequence in kv head 0's part
    private final int headBytes;   // one kv head's part of a layer's cache

    CpuPagedAttention(int heads, int kvHeads, int headDim, int blockSize, int numBlocks, int maxContext) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.dBound = LANES.loopBound(headDim);
        this.group = heads / kvHeads;
        this.rowWidth = (heads + 2 * kvHeads) * headDim;
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.stride = Math.max(1, maxContext);
        this.scores = new float[group * stride];
        this.partials = new float[group * L];
        this.slots = new int[stride];
        this.headBytes = numBlocks * blockSize * headDim * Float.BYTES;
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
     * are {@code blockTable}; writes {@code heads * headDim} floats at {@code out[outOffset]}. The caches are direct
     * buffers over the layer's K and V tensors; only the sequence's written positions are read.
     */
    void attend(float[] qkv, int row, ByteBuffer keyCache, ByteBuffer valueCache, int[] blockTable, int contextLen,
            float[] out, int outOffset) {
        // once per sequence rather than per key and head: an integer division per key cost as much as its dot product
        int rowBytes = headDim * Float.BYTES;
        for (int b = 0, p = 0; p < contextLen; b++) {
            int at = blockTable[b] * blockSize * rowBytes;
            for (int i = 0; i < blockSize && p < contextLen; i++, p++, at += rowBytes) {
                slots[p] = at;
            }
        }
        for (int h = 0; h < kvHeads; h++) {
            int q = row * rowWidth + h * group * headDim;
            scores(qkv, q, keyCache, h * headBytes, contextLen);
            for (int g = 0; g < group; g++) {
                softmax(g * stride, contextLen);
            }
            weightedValues(valueCache, h * headBytes, contextLen, out, outOffset + h * group * headDim);
        }
    }

    /** q·k (unscaled) of the group's query heads, starting at {@code qkv[q]}, with every key: into {@link #scores}. */
    private void scores(float[] qkv, int q, ByteBuffer keys, int head, int n) {
        for (int j = 0; j < n; j++) {
            int k = head + slots[j];
            if (dBound > 0) {
                dots(qkv, q, keys, k);
                for (int g = 0; g < group; g++) {
                    scores[g * stride + j] = VectorMath.sum(FloatVector.fromArray(LANES, partials, g * L), lanes);
                }
            } else {
                for (int g = 0; g < group; g++) {
                    scores[g * stride + j] = 0f;
                }
            }
            for (int d = dBound; d < headDim; d++) {
                float key = keys.getFloat(k + d * Float.BYTES);
                for (int g = 0; g < group; g++) {
                    scores[g * stride + j] += qkv[q + g * headDim + d] * key;
                }
            }
        }
    }

    /**
     * Into {@code partials[g * L, (g + 1) * L)} for each query head g of the group: the lane-wise products of its query
     * with the key at byte {@code k}, summed over the head's vectors in order. The key is read four vectors at a time,
     * each used for every query head of the group: a direct-buffer load costs about twice an array load here, so
     * loading it again per query head doubled the time.
     */
    private void dots(float[] qkv, int q, ByteBuffer keys, int k) {
        int d = 0;
        for (; d + 4 * L <= dBound; d += 4 * L) {
            FloatVector k0 = FloatVector.fromByteBuffer(LANES, keys, k + d * Float.BYTES, ORDER);
            FloatVector k1 = FloatVector.fromByteBuffer(LANES, keys, k + (d + L) * Float.BYTES, ORDER);
            FloatVector k2 = FloatVector.fromByteBuffer(LANES, keys, k + (d + 2 * L) * Float.BYTES, ORDER);
            FloatVector k3 = FloatVector.fromByteBuffer(LANES, keys, k + (d + 3 * L) * Float.BYTES, ORDER);
            for (int g = 0; g < group; g++) {
                int qg = q + g * headDim + d;
                FloatVector acc = d == 0
                        ? FloatVector.fromArray(LANES, qkv, qg).mul(k0)
                        : FloatVector.fromArray(LANES, qkv, qg).fma(k0, FloatVector.fromArray(LANES, partials, g * L));
                acc = FloatVector.fromArray(LANES, qkv, qg + L).fma(k1, acc);
                acc = FloatVector.fromArray(LANES, qkv, qg + 2 * L).fma(k2, acc);
                acc = FloatVector.fromArray(LANES, qkv, qg + 3 * L).fma(k3, acc);
                acc.intoArray(partials, g * L);
            }
        }
        for (; d < dBound; d += L) {
            FloatVector kd = FloatVector.fromByteBuffer(LANES, keys, k + d * Float.BYTES, ORDER);
            for (int g = 0; g < group; g++) {
                int qg = q + g * headDim + d;
                FloatVector acc = d == 0
                        ? FloatVector.fromArray(LANES, qkv, qg).mul(kd)
                        : FloatVector.fromArray(LANES, qkv, qg).fma(kd, FloatVector.fromArray(LANES, partials, g * L));
                acc.intoArray(partials, g * L);
            }
        }
    }

    /** Scales, then softmax in place over {@code scores[s, s + n)}. */
    private void softmax(int s, int n) {
        int nBound = LANES.loopBound(n);
        FloatVector maxes = FloatVector.broadcast(LANES, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j < nBound; j += L) {
            FloatVector x = FloatVector.fromArray(LANES, scores, s + j).mul(scale);
            x.intoArray(scores, s + j);
            maxes = maxes.max(x);
        }
        float max = maxes.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) {
            scores[s + j] *= scale;
            max = Math.max(max, scores[s + j]);
        }
        FloatVector sums = FloatVector.zero(LANES);
        for (j = 0; j < nBound; j += L) {
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
        for (j = 0; j < nBound; j += L) {
            FloatVector.fromArray(LANES, scores, s + j).mul(inv).intoArray(scores, s + j);
        }
        for (; j < n; j++) {
            scores[s + j] *= inv;
        }
    }

    /**
     * The group's outputs {@code Σ_j p_j · v_j}, head after head from {@code out[o]}, each lane one chain of fused
     * multiply-adds in key order. Four vectors of one query head's output stay in registers over all the keys, so
     * nothing is stored until the end; each value vector is read once per query head.
     */
    private void weightedValues(ByteBuffer values, int head, int n, float[] out, int o) {
        int d = 0;
        for (; d + 4 * L <= dBound; d += 4 * L) {
            int db = d * Float.BYTES;
            for (int g = 0; g < group; g++) {
                FloatVector a0 = FloatVector.zero(LANES);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                int s = g * stride;
                for (int j = 0; j < n; j++) {
                    int v = head + slots[j] + db;
                    FloatVector p = FloatVector.broadcast(LANES, scores[s + j]);
                    a0 = FloatVector.fromByteBuffer(LANES, values, v, ORDER).fma(p, a0);
                    a1 = FloatVector.fromByteBuffer(LANES, values, v + L * Float.BYTES, ORDER).fma(p, a1);
                    a2 = FloatVector.fromByteBuffer(LANES, values, v + 2 * L * Float.BYTES, ORDER).fma(p, a2);
                    a3 = FloatVector.fromByteBuffer(LANES, values, v + 3 * L * Float.BYTES, ORDER).fma(p, a3);
                }
                int at = o + g * headDim + d;
                a0.intoArray(out, at);
                a1.intoArray(out, at + L);
                a2.intoArray(out, at + 2 * L);
                a3.intoArray(out, at + 3 * L);
            }
        }
        for (; d < dBound; d += L) {
            for (int g = 0; g < group; g++) {
                FloatVector a0 = FloatVector.zero(LANES);
                int s = g * stride;
                for (int j = 0; j < n; j++) {
                    a0 = FloatVector.fromByteBuffer(LANES, values, head + slots[j] + d * Float.BYTES, ORDER)
                            .fma(FloatVector.broadcast(LANES, scores[s + j]), a0);
                }
                a0.intoArray(out, o + g * headDim + d);
            }
        }
        for (; d < headDim; d++) {
            for (int g = 0; g < group; g++) {
                float acc = 0;
                int s = g * stride;
                for (int j = 0; j < n; j++) {
                    acc += scores[s + j] * values.getFloat(head + slots[j] + d * Float.BYTES);
                }
                out[o + g * headDim + d] = acc;
            }
        }
    }
}
