package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Full sequences in one or more segments, laid out one after the other; segment k holds {@code rows} rows of
 * {@code seqLen} tokens flattened row-major. Rows are padded on the right, so causal masking alone keeps real tokens
 * from seeing padding; padded positions produce values that the caller masks out.
 *
 * <p>One segment is the plain padded batch. Several let a caller group rows of similar length, each group padded only
 * to its own longest row: with long-tailed completion lengths that cuts the tokens of a training forward several-fold
 * (projections and the MLP run on every padded token, attention on seqLen² per row).
 */
public final class DenseCausalContext implements AttentionContext {
    /** {@code rows} right-padded rows of {@code seqLen} tokens. */
    public record Segment(int rows, int seqLen) {
        public Segment {
            if (rows <= 0 || seqLen <= 0) {
                throw new IllegalArgumentException("rows and seqLen must be positive, got " + rows + " x " + seqLen);
            }
        }
    }

    private final List<Segment> segments;
    private final int longest;
    private NDArray mask; // [S, S] for the longest segment, 0 on and below the diagonal, -inf above; shared by all layers

    public DenseCausalContext(int batch, int seqLen) {
        this(List.of(new Segment(batch, seqLen)));
    }

    public DenseCausalContext(List<Segment> segments) {
        if (segments.isEmpty()) {
            throw new IllegalArgumentException("a forward needs at least one segment");
        }
        this.segments = List.copyOf(segments);
        this.longest = this.segments.stream().mapToInt(Segment::seqLen).max().orElseThrow();
    }

    /** Tokens of the forward, padding included: Σ rows × seqLen. */
    public long tokens() {
        long t = 0;
        for (Segment s : segments) {
            t += (long) s.rows() * s.seqLen();
        }
        return t;
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        NDList split = rotation.split(qkv);
        NDArray q = split.get(0);
        NDArray k = split.get(1);
        NDArray v = split.get(2);
        if (segments.size() == 1) {
            Segment s = segments.get(0);
            return attend(q, k, v, s.rows(), s.seqLen(), mask(q, rotation, s.seqLen()));
        }
        // One split per tensor, not a slice per segment: a slice's backward writes its gradient into a zeroed tensor
        // of the whole input, so per-segment slices cost segments × tokens in zeroing, copying and summing gradients;
        // a split's backward concatenates the segments' gradients once.
        long[] starts = new long[segments.size() - 1];
        long offset = 0;
        for (int i = 0; i < starts.length; i++) {
            offset += (long) segments.get(i).rows() * segments.get(i).seqLen();
            starts[i] = offset;
        }
        NDList qs = q.split(starts, 0);
        NDList ks = k.split(starts, 0);
        NDList vs = v.split(starts, 0);
        List<NDArray> outputs = new ArrayList<>(segments.size());
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            outputs.add(attend(qs.get(i), ks.get(i), vs.get(i), s.rows(), s.seqLen(), mask(q, rotation, s.seqLen())));
        }
        return NDArrays.concat(new NDList(outputs));
    }

    /** Causal attention of {@code b} rows of {@code s} tokens: q [b·s, heads, D], k and v [b·s, kvHeads, D]. */
    private static NDArray attend(NDArray q, NDArray k, NDArray v, int b, int s, NDArray mask) {
        long heads = q.getShape().get(1);
        long kvHeads = k.getShape().get(1);
        long headDim = q.getShape().get(2);
        long group = heads / kvHeads;
        // Query heads h = kv * group + j share kv head `kv` (Hugging Face's repeat_kv order): fold the group into the
        // query length so one batched matmul covers it without materialising repeated keys.
        NDArray qg = Scalars.mul(q.reshape(b, s, kvHeads, group, headDim).transpose(0, 2, 3, 1, 4)
                .reshape(b, kvHeads, group * s, headDim), 1.0 / Math.sqrt(headDim));
        NDArray kt = k.reshape(b, s, kvHeads, headDim).transpose(0, 2, 3, 1); // [B, KV, D, S]
        NDArray vt = v.reshape(b, s, kvHeads, headDim).transpose(0, 2, 1, 3); // [B, KV, S, D]
        NDArray scores = qg.matMul(kt).reshape(b, kvHeads, group, s, s).add(mask);
        NDArray probs = scores.softmax(-1).reshape(b, kvHeads, group * s, s);
        return probs.matMul(vt)
                .reshape(b, kvHeads, group, s, headDim)
                .transpose(0, 3, 1, 2, 4)
                .reshape((long) b * s, heads * headDim);
    }

    /**
     * The causal mask of {@code s} positions: the top-left corner of the longest segment's, which is made while the
     * first layer runs and used by all (it lives as long as the forward's positions, not in a layer's scope).
     */
    private NDArray mask(NDArray like, RotaryEmbedding.Rotation rotation, int s) {
        if (mask == null) {
            float[] m = new float[longest * longest];
            for (int i = 0; i < longest; i++) {
                for (int j = i + 1; j < longest; j++) {
                    m[i * longest + j] = Float.NEGATIVE_INFINITY;
                }
            }
            NDArray host = rotation.owner().create(m, new Shape(longest, longest));
            mask = host.toDevice(like.getDevice(), false);
            NDScope.unregister(mask);
            if (mask != host) {
                host.close();
            }
            mask.attach(rotation.owner());
        }
        return s == longest ? mask : mask.get(new NDIndex(":{}, :{}", s, s));
    }
}
