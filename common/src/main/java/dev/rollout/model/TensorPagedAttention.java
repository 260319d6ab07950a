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
 * Paged attention in tensor ops on the cache's device, what a GPU runs: the K/V rows are written at their slots with
 * one {@code index_put_} per tensor; sequences decoding one token are attended together in one batched matmul over
 * their block tables padded to the longest (masked); prefill chunks one by one ({@link PagedPrefill}). The outputs,
 * decode rows first, are put back in flat row order with one gather when they are not in it already. Every index and
 * mask tensor is built once per step, here.
 */
final class TensorPagedAttention implements PagedAttention {
    private final KvCache cache;
    private final int totalTokens;
    private final NDArray slots;           // [T] flat cache slot of each row
    private final int decodeCount;         // sequences with one query token, attended as a batch
    private final NDArray decodeRows;      // [Bd] their rows, or null when they are rows 0..Bd-1
    private final NDArray decodeBlocks;    // [Bd, maxBlocks] block tables padded with block 0
    private final NDArray decodeMask;      // [Bd, 1, maxBlocks * blockSize] 0 where the key exists, -inf elsewhere
    private final NDArray decodeWritten;   // [1, Bd, maxBlocks * blockSize, 1] where the key exists (see PagedPrefill)
    private final NDArray zero;
    private final List<PagedPrefill.Chunk> chunks;
    private final NDArray outputOrder;     // rows of the concatenated outputs in flat order, or null when already so
    private final List<NDArray> owned = new ArrayList<>();

    TensorPagedAttention(KvCache cache, PagedStepMetadata m, NDManager stepManager) {
        this.cache = cache;
        this.totalTokens = m.totalTokens;
        int bs = m.blockSize;
        slots = own(stepManager.create(m.slotIds));
        decodeCount = m.decodeSequences.length;
        int[] order = new int[totalTokens];
        int out = 0;
        boolean inOrder = true;
        if (decodeCount > 0) {
            int maxBlocks = m.blocksFor(m.maxDecodeContext);
            int keys = maxBlocks * bs;
            long[] rows = new long[decodeCount];
            long[] blocks = new long[decodeCount * maxBlocks];
            float[] mask = new float[decodeCount * keys];
            boolean[] written = new boolean[decodeCount * keys];
            for (int d = 0; d < decodeCount; d++) {
                PagedAttentionContext.SequenceSlice s = m.sequences.get(m.decodeSequences[d]);
                rows[d] = m.rowStart[m.decodeSequences[d]];
                int n = m.blocksFor(s.contextLen());
                for (int b = 0; b < n; b++) {
                    blocks[d * maxBlocks + b] = s.blockTable()[b];
                }
                for (int j = s.contextLen(); j < keys; j++) {
                    mask[d * keys + j] = Float.NEGATIVE_INFINITY;
                }
                for (int j = 0; j < s.contextLen(); j++) {
                    written[d * keys + j] = true;
                }
                order[out] = (int) rows[d];
                inOrder &= rows[d] == out;
                out++;
            }
            decodeRows = inOrder ? null : own(stepManager.create(rows));
            decodeBlocks = own(stepManager.create(blocks, new Shape(decodeCount, maxBlocks)));
            decodeMask = own(stepManager.create(mask, new Shape(decodeCount, 1, keys)));
            decodeWritten = own(stepManager.create(written, new Shape(1, decodeCount, keys, 1)));
            zero = own(stepManager.create(0f));
        } else {
            decodeRows = null;
            decodeBlocks = null;
            decodeMask = null;
            decodeWritten = null;
            zero = null;
        }
        chunks = PagedPrefill.chunks(m, stepManager, owned);
        for (PagedPrefill.Chunk c : chunks) {
            for (int r = 0; r < c.queryLen(); r++) {
                order[out] = c.rowStart() + r;
                inOrder &= order[out] == out;
                out++;
            }
        }
        if (inOrder) {
            outputOrder = null;
        } else {
            long[] inverse = new long[totalTokens];
            for (int k = 0; k < totalTokens; k++) {
                inverse[order[k]] = k;
            }
            outputOrder = own(stepManager.create(inverse));
        }
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        NDList split = rotation.split(qkv);
        NDArray q = split.get(0);
        NDArray k = split.get(1);
        NDArray v = split.get(2);
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
            qd = Scalars.mul(qd.reshape(decodeCount, kvHeads, group, headDim).transpose(1, 0, 2, 3), scale); // [KV, Bd, G, D]
            long keys = decodeMask.getShape().get(2);
            // slots past a sequence's context (and the padding block 0) hold another sequence's values: zeroed, so that
            // not even a NaN there gets through the mask
            Shape gathered = new Shape(kvHeads, decodeCount, keys, headDim);
            NDArray written = decodeWritten.broadcast(gathered); // DJL's where does not broadcast
            NDArray zeros = zero.broadcast(gathered);
            NDArray kd = NDArrays.where(written, kc.get(new NDIndex(":, {}", decodeBlocks)).reshape(gathered), zeros);
            NDArray vd = NDArrays.where(written, vc.get(new NDIndex(":, {}", decodeBlocks)).reshape(gathered), zeros);
            NDArray probs = qd.matMul(kd.transpose(0, 1, 3, 2)).add(decodeMask).softmax(-1); // [KV, Bd, G, L]
            outputs.add(probs.matMul(vd).transpose(1, 0, 2, 3).reshape(decodeCount, heads * headDim));
        }
        for (PagedPrefill.Chunk c : chunks) {
            outputs.add(PagedPrefill.attend(c, q.get(new NDIndex("{}:{}", c.rowStart(), c.rowStart() + c.queryLen())), kc,
                    vc, kvHeads));
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
