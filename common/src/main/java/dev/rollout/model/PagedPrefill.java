package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The prefill chunks of a step (sequences with several query tokens), attended one by one with tensor ops on both
 * backends: their arithmetic is large enough for a matmul to pay, and padding a chunk of hundreds of queries to a batch
 * would waste more than the per-sequence call costs. Each chunk's block ids and causal mask are built once per step.
 *
 * <p>The gathered blocks' slots past the sequence's context still hold what an earlier owner of the block wrote. The
 * mask gives them zero weight, but a NaN there would survive it (NaN + -inf and 0 · NaN are NaN), so those slots are
 * zeroed in the gathered copy first: one sequence's bad values never reach another's attention.
 */
final class PagedPrefill {

    /**
     * One sequence's chunk: its rows {@code [rowStart, rowStart + queryLen)}, its block ids, its mask {@code [n, keys]}
     * which gathered slots it has written {@code [1, keys, 1]}, and the step's 0 that the others are replaced with.
     */
    record Chunk(int sequence, int rowStart, int queryLen, NDArray blocks, NDArray mask, NDArray written, NDArray zero) {}

    private PagedPrefill() {}

    /** The step's prefill chunks, in sequence order; their tensors are added to {@code owned}. */
    static List<Chunk> chunks(PagedStepMetadata m, NDManager stepManager, List<NDArray> owned) {
        List<Chunk> chunks = new ArrayList<>();
        NDArray zero = null;
        for (int i = 0; i < m.sequences.size(); i++) {
            PagedAttentionContext.SequenceSlice s = m.sequences.get(i);
            if (s.queryLen() == 1) {
                continue;
            }
            int n = m.blocksFor(s.contextLen());
            long[] blocks = new long[n];
            for (int b = 0; b < n; b++) {
                blocks[b] = s.blockTable()[b];
            }
            int keys = n * m.blockSize;
            int first = s.contextLen() - s.queryLen();
            float[] mask = new float[s.queryLen() * keys];
            boolean[] written = new boolean[keys];
            for (int j = 0; j < s.contextLen(); j++) {
                written[j] = true;
            }
            for (int r = 0; r < s.queryLen(); r++) {
                for (int j = first + r + 1; j < keys; j++) {
                    mask[r * keys + j] = Float.NEGATIVE_INFINITY;
                }
            }
            NDArray blockIds = stepManager.create(blocks);
            NDArray maskTensor = stepManager.create(mask, new Shape(s.queryLen(), keys));
            NDArray writtenTensor = stepManager.create(written, new Shape(1, keys, 1));
            owned.add(blockIds);
            owned.add(maskTensor);
            owned.add(writtenTensor);
            if (zero == null) {
                zero = stepManager.create(0f);
                owned.add(zero);
            }
            chunks.add(new Chunk(i, m.rowStart[i], s.queryLen(), blockIds, maskTensor, writtenTensor, zero));
        }
        return chunks;
    }

    /** One prefill chunk's queries q [n, heads, headDim] (rotated) over its gathered blocks: [n, heads * headDim]. */
    static NDArray attend(Chunk c, NDArray q, NDArray kc, NDArray vc, long kvHeads) {
        long n = c.queryLen();
        long heads = q.getShape().get(1);
        long headDim = q.getShape().get(2);
        long group = heads / kvHeads;
        long keys = c.mask().getShape().get(1);
        NDArray qs = Scalars.mul(q.reshape(n, kvHeads, group, headDim).transpose(1, 2, 0, 3)
                .reshape(kvHeads, group * n, headDim), 1.0 / Math.sqrt(headDim));
        NDArray ks = writtenOnly(c, kc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim));
        NDArray vs = writtenOnly(c, vc.get(new NDIndex(":, {}", c.blocks())).reshape(kvHeads, keys, headDim));
        NDArray probs = qs.matMul(ks.transpose(0, 2, 1)).reshape(kvHeads, group, n, keys).add(c.mask())
                .softmax(-1).reshape(kvHeads, group * n, keys);
        return probs.matMul(vs).reshape(kvHeads, group, n, headDim).transpose(2, 0, 1, 3).reshape(n, heads * headDim);
    }

    /** {@code gathered} with the slots the chunk's sequence has not written set to 0 (DJL's where does not broadcast). */
    private static NDArray writtenOnly(Chunk c, NDArray gathered) {
        Shape shape = gathered.getShape();
        return NDArrays.where(c.written().broadcast(shape), gathered, c.zero().broadcast(shape));
    }
}
