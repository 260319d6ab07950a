package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Serving attention over a {@link PagedKvCache}: the tokens of several sequences are packed flat in the order of
 * {@code sequences}. Each layer first writes this step's K/V at the tokens' cache slots, then attends every query over
 * its own sequence's cached tokens.
 *
 * <p>All index and mask tensors are built once per step here and shared by every layer. Sequences decoding one token
 * are attended together in one batched matmul over their block tables padded to the longest; sequences with several
 * query tokens (prefill chunks) are attended one by one, since padding a chunk of hundreds of queries to a batch would
 * waste more than the per-sequence call costs.
 */
public final class PagedAttentionContext implements AttentionContext, AutoCloseable {

    /**
     * One sequence's part of the step.
     *
     * @param queryLen tokens of this sequence in this forward (its last {@code queryLen} positions)
     * @param contextLen tokens in the cache after this step, the new ones included
     * @param blockTable block ids holding positions {@code [0, contextLen)} in order
     */
    public record SequenceSlice(int queryLen, int contextLen, int[] blockTable) {
        public SequenceSlice {
            if (queryLen <= 0 || contextLen < queryLen) {
                throw new IllegalArgumentException("need 0 < queryLen <= contextLen, got " + queryLen + ", " + contextLen);
            }
        }
    }

    private record Chunk(int rowStart, int queryLen, NDArray blocks, NDArray mask) {}

    private final PagedKvCache cache;
    private final int totalTokens;
    private final NDArray slots;           // [T] flat cache slot of each token of this step
    private final int decodeCount;         // sequences with one query token, attended as a batch
    private final NDArray decodeRows;      // [Bd] their rows, or null when they are rows 0..Bd-1
    private final NDArray decodeBlocks;    // [Bd, maxBlocks] block tables padded with block 0
    private final NDArray decodeMask;      // [Bd, 1, maxBlocks * blockSize] 0 where the key exists, -inf elsewhere
    private final List<Chunk> chunks = new ArrayList<>();
    private final NDArray outputOrder;     // rows of the concatenated outputs in flat order, or null when already so
    private final List<NDArray> owned = new ArrayList<>();

    public PagedAttentionContext(PagedKvCache cache, List<SequenceSlice> sequences, NDManager stepManager) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a step needs at least one sequence");
        }
        this.cache = cache;
        int bs = cache.blockSize();
        int t = 0;
        for (SequenceSlice s : sequences) {
            int needed = (s.contextLen() + bs - 1) / bs;
            if (s.blockTable().length < needed) {
                throw new IllegalArgumentException("block table of " + s.blockTable().length + " blocks cannot hold "
                        + s.contextLen() + " tokens at block size " + bs);
            }
            t += s.queryLen();
        }
        this.totalTokens = t;

        long[] slotIds = new long[t];
        List<Integer> decodeSeqs = new ArrayList<>();
        int[] rowStart = new int[sequences.size()];
        int row = 0;
        for (int i = 0; i < sequences.size(); i++) {
            SequenceSlice s = sequences.get(i);
            rowStart[i] = row;
            for (int p = s.contextLen() - s.queryLen(); p < s.contextLen(); p++) {
                slotIds[row++] = (long) s.blockTable()[p / bs] * bs + p % bs;
            }
            if (s.queryLen() == 1) {
                decodeSeqs.add(i);
            }
        }
        slots = own(stepManager.create(slotIds));

        decodeCount = decodeSeqs.size();
        int[] order = new int[t];
        int out = 0;
        boolean inOrder = true;
        if (decodeCount > 0) {
            int maxBlocks = 0;
            for (int i : decodeSeqs) {
                maxBlocks = Math.max(maxBlocks, (sequences.get(i).contextLen() + bs - 1) / bs);
            }
            int keys = maxBlocks * bs;
            long[] rows = new long[decodeCount];
            long[] blocks = new long[decodeCount * maxBlocks];
            float[] mask = new float[decodeCount * keys];
            for (int d = 0; d < decodeCount; d++) {
                SequenceSlice s = sequences.get(decodeSeqs.get(d));
                rows[d] = rowStart[decodeSeqs.get(d)];
                int n = (s.contextLen() + bs - 1) / bs;
                for (int b = 0; b < n; b++) {
                    blocks[d * maxBlocks + b] = s.blockTable()[b];
                }
                for (int j = s.contextLen(); j < keys; j++) {
                    mask[d * keys + j] = Float.NEGATIVE_INFINITY;
                }
                order[out] = (int) rows[d];
                inOrder &= rows[d] == out;
                out++;
            }
            decodeRows = inOrder ? null : own(stepManager.create(rows));
            decodeBlocks = own(stepManager.create(blocks, new Shape(decodeCount, maxBlocks)));
            decodeMask = own(stepManager.create(mask, new Shape(decodeCount, 1, keys)));
        } else {
            decodeRows = null;
            decodeBlocks = null;
            decodeMask = null;
        }
        for (int i = 0; i < sequences.size(); i++) {
            SequenceSlice s = sequences.get(i);
            if (s.queryLen() == 1) {
                continue;
            }
            int n = (s.contextLen() + bs - 1) / bs;
            long[] blocks = new long[n];
            for (int b = 0; b < n; b++) {
                blocks[b] = s.blockTable()[b];
            }
            int keys = n * bs;
            int first = s.contextLen() - s.queryLen();
            float[] mask = new float[s.queryLen() * keys];
            for (int r = 0; r < s.queryLen(); r++) {
                for (int j = first + r + 1; j < keys; j++) {
                    mask[r * keys + j] = Float.NEGATIVE_INFINITY;
                }
                order[out] = rowStart[i] + r;
                inOrder &= order[out] == out;
                out++;
            }
            chunks.add(new Chunk(rowStart[i], s.queryLen(), own(stepManager.create(blocks)),
                    own(stepManager.create(mask, new Shape(s.queryLen(), keys)))));
        }
        if (inOrder) {
            outputOrder = null;
        } else {
            long[] inverse = new long[t];
            for (int k = 0; k < t; k++) {
                inverse[order[k]] = k;
            }
            outputOrder = own(stepManager.create(inverse));
        }
    }

    @Override
    public NDArray attend(int layer, NDArray q, NDArray k, NDArray v) {
        if (q.getShape().get(0) != totalTokens) {
            throw new IllegalArgumentException("step has " + totalTokens + " tokens, got " + q.getShape().get(0));
        }
        NDArray kc = cache.keys(layer);
        NDArray vc = cache.values(layer);
        write(kc, k);
        write(vc, v);

        long heads = q.getShape().get(1);
        long kvHeads = k.getShape().get(1);
        long headDim = q.getShape().get(2);
        long group = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(headDim);
        NDList outputs = new NDList(chunks.size() + 1);
        if (decodeCount > 0) {
            NDArray qd = decodeRows == null ? q.get(new NDIndex("0:{}", decodeCount)) : q.get(new NDIndex("{}", decodeRows));
            qd = qd.reshape(decodeCount, kvHeads, group, headDim).transpose(1, 0, 2, 3).mul(scale); // [KV, Bd, G, D]
            long keys = decodeMask.getShape().get(2);
            NDArray kd = kc.get(new NDIndex(":, {}", decodeBlocks)).reshape(kvHeads, decodeCount, keys, headDim);
            NDArray vd = vc.get(new NDIndex(":, {}", decodeBlocks)).reshape(kvHeads, decodeCount, keys, headDim);
            NDArray probs = qd.matMul(kd.transpose(0, 1, 3, 2)).add(decodeMask).softmax(-1); // [KV, Bd, G, L]
            outputs.add(probs.matMul(vd).transpose(1, 0, 2, 3).reshape(decodeCount, heads * headDim));
        }
        for (Chunk c : chunks) {
            long n = c.queryLen();
            long keys = c.mask().getShape().get(1);
            NDArray qs = q.get(new NDIndex("{}:{}", c.rowStart(), c.rowStart() + c.queryLen()))
                    .reshape(n, kvHeads, group, headDim).transpose(1, 2, 0, 3).reshape(kvHeads, group * n, headDim)
                    .mul(scale);
            NDArray ks = kc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim);
            NDArray vs = vc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim);
            NDArray probs = qs.matMul(ks.transpose(0, 2, 1)).reshape(kvHeads, group, n, keys).add(c.mask())
                    .softmax(-1).reshape(kvHeads, group * n, keys);
            outputs.add(probs.matMul(vs).reshape(kvHeads, group, n, headDim).transpose(2, 0, 1, 3)
                    .reshape(n, heads * headDim));
        }
        NDArray all = outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 0);
        return outputOrder == null ? all : all.get(new NDIndex("{}", outputOrder));
    }

    /** index_put_ of this step's [T, KV, D] rows into the cache's flat [KV, blocks * blockSize, D] view. */
    private void write(NDArray cacheTensor, NDArray rows) {
        Shape s = cacheTensor.getShape();
        NDArray flat = cacheTensor.reshape(s.get(0), s.get(1) * s.get(2), s.get(3));
        flat.set(new NDIndex(":, {}", slots), rows.transpose(1, 0, 2));
    }

    private NDArray own(NDArray a) {
        owned.add(a);
        return a;
    }

    @Override
    public void close() {
        owned.forEach(NDArray::close);
        owned.clear();
    }
}
