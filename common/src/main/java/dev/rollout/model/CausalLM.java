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
 * {@link PagedAttentionContext}). Weights are replaced between steps with {@link #setWeights}. A serving step on the
 * CPU with few rows runs the projections and the LM head through the Java kernels ({@link CpuLinear}) over a packed
 * copy of the weights, made on the first such step and again for each new set of weights; training never does. With a LoRA adapter
 * ({@link #setAdapter}) each targeted projection adds the adapter's low-rank term to the frozen base projection.
 */
public final class CausalLM implements AutoCloseable {
    private final ModelConfig config;
    private final RotaryEmbedding rope;
    private volatile ModelWeights weights;
    private volatile LoraAdapter adapter; // null: the base model
    private volatile PackedWeights packed; // the CPU kernels' copy, once a serving forward asked for it; else null

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
        if (packed != null) {
            // serving on the CPU: pack now, between steps, rather than in the next step
            packed = PackedWeights.of(newWeights);
        }
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
        PackedWeights p = ctx.cpuProjections() && CpuLinear.suits(t) ? packing(w) : null;
        float eps = (float) config.rmsNormEps();
        // Every temporary, including views of the weights, dies with its layer's scope, the residual stream passed on
        // to the next layer; autograd keeps what backward needs.
        try (NDScope scope = new NDScope()) {
            NDArray x = w.embed().get(new NDIndex("{}", tokenIds));
            RotaryEmbedding.Rotation rotation = rope.at(positions);
            for (int i = 0; i < w.layers().size(); i++) {
                NDArray next;
                try (NDScope layerScope = new NDScope()) {
                    next = layer(i, w.layers().get(i), p == null ? null : p.layer(i), a, x, rotation, ctx, t);
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

    /** The packing of {@code w}, made on first use and after each {@link #setWeights}. */
    private PackedWeights packing(ModelWeights w) {
        PackedWeights p = packed;
        if (p == null || !p.packs(w)) {
            p = PackedWeights.of(w);
            packed = p;
        }
        return p;
    }

    /** {@code pl}: the layer's packed projections for the CPU kernels, or null for libtorch's matmul. */
    private NDArray layer(int i, ModelWeights.Layer l, PackedWeights.Layer pl, LoraAdapter a, NDArray x,
            RotaryEmbedding.Rotation rotation, AttentionContext ctx, long t) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int headDim = config.headDim();
        int inter = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        NDArray qkv = project(a, i, LoraTarget.QKV, rmsNorm(x, l.inputNorm(), eps), l.qkv(),
                pl == null ? null : pl.qkv(), ctx);
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
        NDArray h = x.add(project(a, i, LoraTarget.O, attn, l.o(), pl == null ? null : pl.o(), ctx));
        NDArray gateUp = project(a, i, LoraTarget.GATE_UP, rmsNorm(h, l.postNorm(), eps), l.gateUp(),
                pl == null ? null : pl.gateUp(), ctx);
        NDArray gate = gateUp.get(new NDIndex(":, :{}", inter));
        NDArray up = gateUp.get(new NDIndex(":, {}:", inter));
        return h.add(project(a, i, LoraTarget.DOWN, gate.mul(Activation.sigmoid(gate)).mul(up), l.down(),
                pl == null ? null : pl.down(), ctx));
    }

    /**
     * hidden [R, hidden] to logits [R, vocab], attached to the manager of {@code hidden}. Uses the CPU kernels when a
     * serving forward has packed these weights.
     */
    public NDArray logits(NDArray hidden) {
        ModelWeights w = weights;
        PackedWeights p = packed;
        try (NDScope scope = new NDScope()) {
            boolean cpu = p != null && p.packs(w) && CpuLinear.suits(hidden.getShape().get(0));
            NDArray logits = cpu ? CpuLinear.apply(p.lmHead(), hidden) : linear(hidden, w.lmHead());
            logits.attach(hidden.getManager());
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * A layer's linear projection, through the CPU kernel when {@code packed} is given, plus the adapter's term for the
     * modules it targets.
     */
    private static NDArray project(LoraAdapter a, int layer, List<LoraTarget> modules, NDArray x, NDArray weight,
            PackedMatrix packed, AttentionContext ctx) {
        NDArray y;
        if (packed != null) {
            long start = System.nanoTime();
            y = CpuLinear.apply(packed, x);
            ctx.countCpuNanos(System.nanoTime() - start);
        } else {
            y = linear(x, weight);
        }
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
