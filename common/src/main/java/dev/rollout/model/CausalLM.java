package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Activation;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraTarget;
import java.util.List;

/**
 * A Llama-family decoder over flat token batches: embedding, per layer RMSNorm, fused q/k/v projection (with bias for
 * Qwen2, per-head RMSNorm of q and k for Qwen3), rotary embedding, attention through an {@link AttentionContext},
 * output projection, RMSNorm and a fused SwiGLU MLP; a final RMSNorm and the LM head.
 *
 * <p>The same code serves training (with {@link DenseCausalContext}, under autograd) and serving (with
 * {@link PagedAttentionContext}). Weights are replaced between steps with {@link #setWeights}. With a LoRA adapter
 * ({@link #setAdapter}) each targeted projection adds the adapter's low-rank term to the frozen base projection.
 */
public final class CausalLM implements AutoCloseable {
    private final ModelConfig config;
    private final RotaryEmbedding rope;
    private volatile ModelWeights weights;
    private volatile LoraAdapter adapter; // null: the base model

    public CausalLM(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
        this.rope = new RotaryEmbedding(config, weights.embed().getManager().getParentManager());
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** Replaces the weights. The caller makes sure no forward is running and closes the old weights when done with them. */
    public void setWeights(ModelWeights newWeights) {
        if (!newWeights.config().equals(config)) {
            throw new IllegalArgumentException("weights are for a different config");
        }
        this.weights = newWeights;
    }

    /** The LoRA adapter the forward adds, or null for none. The caller makes sure no forward is running. */
    public void setAdapter(LoraAdapter adapter) {
        if (adapter != null && !adapter.modelConfig().equals(config)) {
            throw new IllegalArgumentException("the adapter was made for a different model config");
        }
        this.adapter = adapter;
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    /**
     * @param tokenIds int64 [T]
     * @param positions int64 [T], each token's position in its sequence
     * @return the final-normed hidden states [T, hidden], attached to the manager of {@code tokenIds}
     */
    public NDArray forward(NDArray tokenIds, NDArray positions, AttentionContext ctx) {
        ModelWeights w = weights;
        LoraAdapter a = adapter;
        NDManager caller = tokenIds.getManager();
        long t = tokenIds.getShape().get(0);
        float eps = (float) config.rmsNormEps();
        // Every temporary, including views of the weights, dies with its layer's scope, the residual stream passed on
        // to the next layer; autograd keeps what backward needs.
        try (NDScope scope = new NDScope()) {
            NDArray x = w.embed().get(new NDIndex("{}", tokenIds));
            RotaryEmbedding.Rotation rotation = rope.at(positions);
            for (int i = 0; i < w.layers().size(); i++) {
                NDArray next;
                try (NDScope layerScope = new NDScope()) {
                    next = layer(i, w.layers().get(i), a, x, rotation, ctx, t);
                    NDScope.unregister(next);
                }
                NDScope.register(next);
                x.close();
                x = next;
            }
            NDArray hidden = rmsNorm(x, w.norm(), eps);
            hidden.attach(caller);
            NDScope.unregister(hidden);
            return hidden;
        }
    }

    private NDArray layer(int i, ModelWeights.Layer l, LoraAdapter a, NDArray x, RotaryEmbedding.Rotation rotation,
            AttentionContext ctx, long t) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int headDim = config.headDim();
        int inter = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        NDArray qkv = project(a, i, LoraTarget.QKV, rmsNorm(x, l.inputNorm(), eps), l.qkv());
        if (l.qkvBias() != null) {
            qkv = qkv.add(l.qkvBias());
        }
        qkv = qkv.reshape(t, heads + 2L * kvHeads, headDim);
        if (l.qNorm() != null) {
            NDArray normWeight = NDArrays.concat(new NDList(
                    l.qNorm().reshape(1, headDim).repeat(0, heads), l.kNorm().reshape(1, headDim).repeat(0, kvHeads)));
            qkv = NDArrays.concat(new NDList(rmsNorm(qkv.get(new NDIndex(":, :{}", heads + kvHeads)), normWeight, eps),
                    qkv.get(new NDIndex(":, {}:", heads + kvHeads))), 1);
        }
        NDArray attn = ctx.attend(i, qkv, rotation);
        NDArray h = x.add(project(a, i, LoraTarget.O, attn, l.o()));
        NDArray gateUp = project(a, i, LoraTarget.GATE_UP, rmsNorm(h, l.postNorm(), eps), l.gateUp());
        NDArray gate = gateUp.get(new NDIndex(":, :{}", inter));
        NDArray up = gateUp.get(new NDIndex(":, {}:", inter));
        return h.add(project(a, i, LoraTarget.DOWN, gate.mul(Activation.sigmoid(gate)).mul(up), l.down()));
    }

    /** hidden [R, hidden] to logits [R, vocab], attached to the manager of {@code hidden}. */
    public NDArray logits(NDArray hidden) {
        try (NDScope scope = new NDScope()) {
            NDArray logits = linear(hidden, weights.lmHead());
            logits.attach(hidden.getManager());
            NDScope.unregister(logits);
            return logits;
        }
    }

    /** A layer's linear projection, plus the adapter's term for the modules it targets. */
    private static NDArray project(LoraAdapter a, int layer, List<LoraTarget> modules, NDArray x, NDArray weight) {
        NDArray y = linear(x, weight);
        return a == null ? y : a.addTo(layer, modules, x, y);
    }

    /** x [.., in] times a Hugging Face [out, in] weight: a transposed view, no copy (as torch's F.linear). */
    private static NDArray linear(NDArray x, NDArray weight) {
        return x.matMul(weight.transpose());
    }

    private static NDArray rmsNorm(NDArray x, NDArray weight, float eps) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(weight);
    }

    @Override
    public void close() {
        rope.close();
    }
}
