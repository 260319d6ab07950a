package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;

/**
 * Full sequences, {@code batch} rows of {@code seqLen} tokens flattened row-major (T = batch * seqLen). Rows are padded
 * on the right, so causal masking alone keeps real tokens from seeing padding; padded positions produce values that the
 * caller masks out.
 */
public final class DenseCausalContext implements AttentionContext {
    private final int batch;
    private final int seqLen;
    private NDArray mask; // [S, S], 0 on and below the diagonal, -inf above; made once, shared by all layers

    public DenseCausalContext(int batch, int seqLen) {
        if (batch <= 0 || seqLen <= 0) {
            throw new IllegalArgumentException("batch and seqLen must be positive, got " + batch + " x " + seqLen);
        }
        this.batch = batch;
        this.seqLen = seqLen;
    }

    @Override
    public NDArray attend(int layer, NDArray qkv, RotaryEmbedding.Rotation rotation) {
        NDList split = rotation.split(qkv);
        NDArray q = split.get(0);
        NDArray k = split.get(1);
        NDArray v = split.get(2);
        long heads = q.getShape().get(1);
        long kvHeads = k.getShape().get(1);
        long headDim = q.getShape().get(2);
        long group = heads / kvHeads;
        int b = batch;
        int s = seqLen;
        // Query heads h = kv * group + j share kv head `kv` (Hugging Face's repeat_kv order): fold the group into the
        // query length so one batched matmul covers it without materialising repeated keys.
        NDArray qg = Scalars.mul(q.reshape(b, s, kvHeads, group, headDim).transpose(0, 2, 3, 1, 4)
                .reshape(b, kvHeads, group * s, headDim), 1.0 / Math.sqrt(headDim));
        NDArray kt = k.reshape(b, s, kvHeads, headDim).transpose(0, 2, 3, 1); // [B, KV, D, S]
        NDArray vt = v.reshape(b, s, kvHeads, headDim).transpose(0, 2, 1, 3); // [B, KV, S, D]
        NDArray scores = qg.matMul(kt).reshape(b, kvHeads, group, s, s).add(mask(q, rotation));
        NDArray probs = scores.softmax(-1).reshape(b, kvHeads, group * s, s);
        return probs.matMul(vt)
                .reshape(b, kvHeads, group, s, headDim)
                .transpose(0, 3, 1, 2, 4)
                .reshape((long) b * s, heads * headDim);
    }

    /** Made while the first layer runs and used by all: it lives as long as the forward's positions, not in a layer's scope. */
    private NDArray mask(NDArray like, RotaryEmbedding.Rotation rotation) {
        if (mask == null) {
            float[] m = new float[seqLen * seqLen];
            for (int i = 0; i < seqLen; i++) {
                for (int j = i + 1; j < seqLen; j++) {
                    m[i * seqLen + j] = Float.NEGATIVE_INFINITY;
                }
            }
            NDArray host = rotation.owner().create(m, new Shape(seqLen, seqLen));
            mask = host.toDevice(like.getDevice(), false);
            NDScope.unregister(mask);
            if (mask != host) {
                host.close();
            }
            mask.attach(rotation.owner());
        }
        return mask;
    }
}
