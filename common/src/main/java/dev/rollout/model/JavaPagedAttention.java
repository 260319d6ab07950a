package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Paged attention in plain Java over a cache in CPU memory: per layer one pass over the rows rotates q and k, writes
 * K/V at their slots and attends each decoding sequence with {@link CpuPagedAttention}, through direct buffers that
 * alias the cache tensors, instead of a gather copy of every block and some thirty small tensor ops. Prefill chunks
 * are attended with tensor ops ({@link PagedPrefill}).
 */
final class JavaPagedAttention implements PagedAttention {
    private final KvCache cache;
    private final PagedStepMetadata m;
    private final List<PagedPrefill.Chunk> chunks;
    private final List<NDArray> owned = new ArrayList<>();
    /** The decoding sequences (indices into the step's), split into contiguous runs of about equal work, one a thread. */
    private final int[][] shares;
    private CpuPagedAttention[] kernels;
    private long kernelNanos;

    JavaPagedAttention(KvCache cache, PagedStepMetadata m, NDManager stepManager) {
        this.cache = cache;
        this.m = m;
        this.chunks = PagedPrefill.chunks(m, stepManager, owned);
        this.shares = split(m, CpuWorkers.threads());
    }

    /**
     * Below this many cached tokens to read per layer, the decode attention runs on the calling thread alone: handing
     * work to another thread costs tens of microseconds, as much as attending a few hundred tokens.
     */
    static final int PARALLEL_MIN_TOKENS = 4096;

    /** {@code m}'s decoding sequences in at most {@code threads} runs of similar total context, in order. */
    static int[][] split(PagedStepMetadata m, int threads) {
        int[] decode = m.decodeSequences;
        long total = 0;
        for (int i : decode) {
            total += m.sequences.get(i).contextLen();
        }
        int n = total < PARALLEL_MIN_TOKENS ? 1 : (int) Math.min(threads, decode.length);
        if (n <= 1) {
            return new int[][] {decode};
        }
        int[][] out = new int[n][];
        int from = 0;
        long done = 0;
        for (int s = 0; s < n; s++) {
            int to = from;
            long target = total * (s + 1) / n;
            while (to < decode.length && (s == n - 1 || done + m.sequences.get(decode[to]).contextLen() / 2 < target)) {
                done += m.sequences.get(decode[to++]).contextLen();
            }
            out[s] = Arrays.copyOfRange(decode, from, to);
            from = to;
        }
        return out;
    }

    /** Nanoseconds spent so far in the Java side (RoPE, the K/V write, decode attention). */
    long kernelNanos() {
        return kernelNanos;
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        RotaryEmbedding rope = rotation.embedding();
        int heads = rope.numHeads();
        int kvHeads = rope.numKvHeads();
        int headDim = rope.headDim();
        int width = (heads + 2 * kvHeads) * headDim;
        int qWidth = heads * headDim;
        int totalTokens = m.totalTokens;
        long start = System.nanoTime();
        float[] x = new float[totalTokens * width];
        floats(qkv).get(0, x);
        ByteBuffer keyBytes = bytes(cache.keys(layer));
        ByteBuffer valueBytes = bytes(cache.values(layer));
        if (kernels == null) {
            kernels = new CpuPagedAttention[shares.length];
            for (int i = 0; i < kernels.length; i++) {
                kernels[i] = new CpuPagedAttention(heads, kvHeads, headDim, cache.blockSize(), cache.numBlocks(),
                        m.maxDecodeContext);
            }
        }
        FloatBuffer keys = keyBytes.asFloatBuffer();
        FloatBuffer values = valueBytes.asFloatBuffer();
        for (int r = 0; r < totalTokens; r++) {
            rope.rotate(x, r * width, heads + kvHeads, m.rowPositions[r]);
            kernels[0].store(x, r, keys, values, m.slotIds[r]);
        }
        float[] out = new float[totalTokens * qWidth];
        CpuWorkers.run(shares.length, share -> {
            CpuPagedAttention kernel = kernels[share];
            for (int i : shares[share]) {
                PagedAttentionContext.SequenceSlice s = m.sequences.get(i);
                kernel.attend(x, m.rowStart[i], keyBytes, valueBytes, s.blockTable(), s.contextLen(), out,
                        m.rowStart[i] * qWidth);
            }
        });
        kernelNanos += System.nanoTime() - start;
        NDManager manager = qkv.getManager();
        for (PagedPrefill.Chunk c : chunks) {
            float[] q = new float[c.queryLen() * qWidth];
            for (int r = 0; r < c.queryLen(); r++) {
                System.arraycopy(x, (c.rowStart() + r) * width, q, r * qWidth, qWidth);
            }
            NDArray rows = manager.create(q, new Shape(c.queryLen(), heads, headDim));
            floats(PagedPrefill.attend(c, rows, cache.keys(layer), cache.values(layer), kvHeads))
                    .get(0, out, c.rowStart() * qWidth, c.queryLen() * qWidth);
        }
        return manager.create(out, new Shape(totalTokens, qWidth));
    }

    /** A CPU tensor's floats without a copy when it is contiguous (the buffer aliases the tensor's memory). */
    private static FloatBuffer floats(NDArray a) {
        return bytes(a).asFloatBuffer();
    }

    /** A CPU tensor's bytes in native order, without a copy when it is contiguous. */
    private static ByteBuffer bytes(NDArray a) {
        return a.toByteBuffer(true).order(ByteOrder.nativeOrder());
    }

    @Override
    public void close() {
        owned.forEach(NDArray::close);
        owned.clear();
    }
}
