package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
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
    private long kernelNanos;

    JavaPagedAttention(KvCache cache, PagedStepMetadata m, NDManager stepManager) {
        this.cache = cache;
        this.m = m;
        this.chunks = PagedPrefill.chunks(m, stepManager, owned);
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
        FloatBuffer keys = floats(cache.keys(layer));
        FloatBuffer values = floats(cache.values(layer));
        CpuPagedAttention kernel = new CpuPagedAttention(heads, kvHeads, headDim, cache.blockSize(), cache.numBlocks(),
                m.maxDecodeContext);
        for (int r = 0; r < totalTokens; r++) {
            rope.rotate(x, r * width, heads + kvHeads, m.rowPositions[r]);
            kernel.store(x, r, keys, values, m.slotIds[r]);
        }
        float[] out = new float[totalTokens * qWidth];
        for (int i : m.decodeSequences) {
            PagedAttentionContext.SequenceSlice s = m.sequences.get(i);
            kernel.attend(x, m.rowStart[i], keys, values, s.blockTable(), s.contextLen(), out, m.rowStart[i] * qWidth);
        }
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
        return a.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public void close() {
        owned.forEach(NDArray::close);
        owned.clear();
    }
}
