package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Serving attention over a {@link KvCache}: the tokens of several sequences are packed flat in the order of
 * {@code sequences}. Each layer first writes this step's K/V at the tokens' cache slots, then attends every query over
 * its own sequence's cached tokens.
 *
 * <p>With the cache in CPU memory (and the Vector API module present), rotation, the K/V write and decode attention run in plain Java over the cache's
 * memory ({@link CpuPagedAttention}): one pass over the rows per layer instead of a gather copy of every block and
 * some thirty small tensor ops. Elsewhere (a GPU) they are tensor ops: sequences decoding one token are attended
 * together in one batched matmul over their block tables padded to the longest. Either way, sequences with several
 * query tokens (prefill chunks) are attended one by one with tensor ops, since their arithmetic is large enough for
 * a matmul to pay and padding a chunk of hundreds of queries to a batch would waste more than the per-sequence call
 * costs. All index and mask tensors are built once per step here and shared by every layer.
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

    /** Whether the JVM was started with {@code --add-modules jdk.incubator.vector}, which the CPU kernel needs. */
    private static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private final KvCache cache;
    private final List<SequenceSlice> sequences;
    private final boolean onCpu;           // the cache is in CPU memory and the Vector API is there: the Java path
    private final int totalTokens;
    private final long[] slotIds;          // flat cache slot of each token of this step
    private final int[] rowPositions;      // position of each token in its sequence
    private final int[] rowStart;          // first row of each sequence
    private final int maxDecodeContext;
    private final NDArray slots;           // [T] slotIds as a tensor (tensor path)
    private final int decodeCount;         // sequences with one query token, attended as a batch
    private final NDArray decodeRows;      // [Bd] their rows, or null when they are rows 0..Bd-1 (tensor path)
    private final NDArray decodeBlocks;    // [Bd, maxBlocks] block tables padded with block 0 (tensor path)
    private final NDArray decodeMask;      // [Bd, 1, maxBlocks * blockSize] 0 where the key exists, -inf elsewhere
    private final List<Chunk> chunks = new ArrayList<>();
    private final NDArray outputOrder;     // rows of the concatenated outputs in flat order, or null when already so
    private final List<NDArray> owned = new ArrayList<>();
    private long cpuKernelNanos;

    public PagedAttentionContext(KvCache cache, List<SequenceSlice> sequences, NDManager stepManager) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a step needs at least one sequence");
        }
        this.cache = cache;
        this.sequences = List.copyOf(sequences);
        // the kernel reads the cache through one direct buffer per tensor, which cannot exceed 2 GiB
        this.onCpu = VECTOR_API && "cpu".equals(cache.keys(0).getDevice().getDeviceType())
                && cache.keys(0).size() * 4 < Integer.MAX_VALUE;
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

        slotIds = new long[t];
        rowPositions = new int[t];
        List<Integer> decodeSeqs = new ArrayList<>();
        rowStart = new int[sequences.size()];
        int row = 0;
        int maxDecode = 0;
        for (int i = 0; i < sequences.size(); i++) {
            SequenceSlice s = sequences.get(i);
            rowStart[i] = row;
            for (int p = s.contextLen() - s.queryLen(); p < s.contextLen(); p++) {
                rowPositions[row] = p;
                slotIds[row++] = (long) s.blockTable()[p / bs] * bs + p % bs;
            }
            if (s.queryLen() == 1) {
                decodeSeqs.add(i);
                maxDecode = Math.max(maxDecode, s.contextLen());
            }
        }
        maxDecodeContext = maxDecode;
        decodeCount = decodeSeqs.size();
        if (onCpu) {
            slots = null;
            decodeRows = null;
            decodeBlocks = null;
            decodeMask = null;
            outputOrder = null;
            addChunks(sequences, stepManager, bs, new int[t], 0, true);
            return;
        }
        slots = own(stepManager.create(slotIds));

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
        inOrder = addChunks(sequences, stepManager, bs, order, out, inOrder);
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

    /**
     * Builds each prefill chunk's block ids and causal mask, and records in {@code order} (from index {@code out}) the
     * rows its outputs land in. Returns whether every row so far is in flat order.
     */
    private boolean addChunks(List<SequenceSlice> sequences, NDManager stepManager, int bs, int[] order, int out,
            boolean inOrder) {
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
        return inOrder;
    }

    /**
     * Nanoseconds this step has spent so far in the Java side of CPU attention (RoPE, the K/V write, decode attention):
     * tensor math that libtorch's profiler does not see, so that a benchmark can count it as such.
     */
    public long cpuKernelNanos() {
        return cpuKernelNanos;
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        if (qkv.getShape().get(0) != totalTokens) {
            throw new IllegalArgumentException("step has " + totalTokens + " tokens, got " + qkv.getShape().get(0));
        }
        return onCpu ? attendOnCpu(layer, qkv, rotation.embedding()) : attendWithTensors(layer, qkv, rotation);
    }

    private NDArray attendOnCpu(int layer, NDArray qkv, RotaryEmbedding rope) {
        int heads = rope.numHeads();
        int kvHeads = rope.numKvHeads();
        int headDim = rope.headDim();
        int width = (heads + 2 * kvHeads) * headDim;
        int qWidth = heads * headDim;
        long start = System.nanoTime();
        float[] x = new float[totalTokens * width];
        floats(qkv).get(0, x);
        FloatBuffer keys = floats(cache.keys(layer));
        FloatBuffer values = floats(cache.values(layer));
        CpuPagedAttention kernel = new CpuPagedAttention(heads, kvHeads, headDim, cache.blockSize(), cache.numBlocks(),
                maxDecodeContext);
        for (int r = 0; r < totalTokens; r++) {
            rope.rotate(x, r * width, heads + kvHeads, rowPositions[r]);
            kernel.store(x, r, keys, values, slotIds[r]);
        }
        float[] out = new float[totalTokens * qWidth];
        for (int i = 0; i < sequences.size(); i++) {
            SequenceSlice s = sequences.get(i);
            if (s.queryLen() == 1) {
                kernel.attend(x, rowStart[i], keys, values, s.blockTable(), s.contextLen(), out, rowStart[i] * qWidth);
            }
        }
        cpuKernelNanos += System.nanoTime() - start;
        NDManager manager = qkv.getManager();
        for (Chunk c : chunks) {
            float[] q = new float[c.queryLen() * qWidth];
            for (int r = 0; r < c.queryLen(); r++) {
                System.arraycopy(x, (c.rowStart() + r) * width, q, r * qWidth, qWidth);
            }
            NDArray rows = manager.create(q, new Shape(c.queryLen(), heads, headDim));
            floats(attendChunk(c, rows, cache.keys(layer), cache.values(layer), kvHeads))
                    .get(0, out, c.rowStart() * qWidth, c.queryLen() * qWidth);
        }
        return manager.create(out, new Shape(totalTokens, qWidth));
    }

    /** A CPU tensor's floats without a copy when it is contiguous (the buffer aliases the tensor's memory). */
    private static FloatBuffer floats(NDArray a) {
        return a.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private NDArray attendWithTensors(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
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
            NDArray kd = kc.get(new NDIndex(":, {}", decodeBlocks)).reshape(kvHeads, decodeCount, keys, headDim);
            NDArray vd = vc.get(new NDIndex(":, {}", decodeBlocks)).reshape(kvHeads, decodeCount, keys, headDim);
            NDArray probs = qd.matMul(kd.transpose(0, 1, 3, 2)).add(decodeMask).softmax(-1); // [KV, Bd, G, L]
            outputs.add(probs.matMul(vd).transpose(1, 0, 2, 3).reshape(decodeCount, heads * headDim));
        }
        for (Chunk c : chunks) {
            outputs.add(attendChunk(c, q.get(new NDIndex("{}:{}", c.rowStart(), c.rowStart() + c.queryLen())), kc, vc,
                    kvHeads));
        }
        NDArray all = outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 0);
        return outputOrder == null ? all : all.get(new NDIndex("{}", outputOrder));
    }

    /** One prefill chunk's queries q [n, heads, headDim] (rotated) over its gathered blocks: [n, heads * headDim]. */
    private static NDArray attendChunk(Chunk c, NDArray q, NDArray kc, NDArray vc, long kvHeads) {
        long n = c.queryLen();
        long heads = q.getShape().get(1);
        long headDim = q.getShape().get(2);
        long group = heads / kvHeads;
        long keys = c.mask().getShape().get(1);
        NDArray qs = Scalars.mul(q.reshape(n, kvHeads, group, headDim).transpose(1, 2, 0, 3)
                .reshape(kvHeads, group * n, headDim), 1.0 / Math.sqrt(headDim));
        NDArray ks = kc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim);
        NDArray vs = vc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim);
        NDArray probs = qs.matMul(ks.transpose(0, 2, 1)).reshape(kvHeads, group, n, keys).add(c.mask())
                .softmax(-1).reshape(kvHeads, group * n, keys);
        return probs.matMul(vs).reshape(kvHeads, group, n, headDim).transpose(2, 0, 1, 3).reshape(n, heads * headDim);
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
