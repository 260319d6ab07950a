package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraTarget;
import java.util.List;

/**
 * A Llama-family decoder over flat token batches: embedding, per layer RMSNorm, fused q/k/v projection (with bias for
 * Qwen2, per-head RMSNorm of q and k for Qwen3), rotary embedding, attention through an {@link AttentionContext},
 * output projection, RMSNorm and a fused SwiGLU MLP; a final RMSNorm and the LM head.
 *
 * <p>The same code serves training (with {@link DenseCausalContext}, under autograd) and serving (with
 * {@link PagedAttentionContext}). A serving step of up to {@link CpuLayerMath#MAX_ROWS} rows on the CPU keeps the
 * residual stream in a Java array and runs the norms, residual adds and SwiGLU there ({@link CpuLayerMath}) instead of
 * as a dozen small tensor ops per layer; the projections and attention are the same in both. Weights are replaced
 * between steps with {@link #setWeights}. In the bf16 serving mode ({@link #serveInBf16}) the projections and the LM
 * head of serving steps with few rows run over a bf16 copy of their weights ({@link Bf16Weights}); training never
 * does. With a LoRA adapter ({@link #setAdapter}) each targeted projection adds the adapter's low-rank term to the
 * frozen base projection.
 */
public final class CausalLM implements AutoCloseable {
    private final ModelConfig config;
    private final RotaryEmbedding rope;
    private volatile ModelWeights weights;
    private volatile LoraAdapter adapter; // null: the base model
    private volatile Bf16Weights bf16; // the bf16 serving mode's copy of the weights; null: fp32 only

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
        if (bf16 != null) {
            // between steps, as the sync converts to the serving dtype
            bf16 = Bf16Weights.roundInPlace(newWeights);
        }
        this.weights = newWeights;
    }

    /**
     * Switches to the bf16 serving mode: rounds the projection and LM-head weights (the embedding too when tied to the
     * head) to bf16 in place, here and for every later {@link #setWeights}, and runs serving steps of up to
     * {@link Bf16Weights#MAX_ROWS} rows over a bf16 copy of them; larger steps run libtorch's fp32 GEMM over the
     * rounded fp32 values. Only for a server's own weights on the CPU (a trainer's would lose its fp32 values).
     *
     * @return the bytes of the bf16 copy
     */
    public long serveInBf16() {
        Bf16Weights b = Bf16Weights.roundInPlace(weights);
        bf16 = b;
        return b.bytes();
    }

    /** Whether {@link #serveInBf16} is on. */
    public boolean servesInBf16() {
        return bf16 != null;
    }

    /** Forwards of the current weights that ran their projections over the bf16 copy; 0 in fp32. */
    public long bf16Forwards() {
        Bf16Weights b = bf16;
        return b == null ? 0 : b.forwards();
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
        Bf16Weights b = bf16;
        Bf16Weights p = b != null && b.copies(w) && ctx instanceof PagedAttentionContext && Bf16Weights.suits(t) ? b : null;
        if (p != null) {
            p.countForward();
        }
        float eps = (float) config.rmsNormEps();
        if (ctx instanceof PagedAttentionContext && t <= CpuLayerMath.MAX_ROWS && onCpu(w) && !JniUtils.isGradMode()) {
            return servingForwardOnCpu(w, p, a, tokenIds, positions, ctx, t, caller);
        }
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

    private static boolean onCpu(ModelWeights w) {
        return "cpu".equals(w.embed().getDevice().getDeviceType());
    }

    /**
     * {@link #forward} for a serving step of few rows on the CPU: the residual stream, the norms, the residual adds and SwiGLU in
     * Java arrays ({@link CpuLayerMath}), the projections and attention as in the tensor forward. Whichever attention
     * backend runs, the rest of the step is this same code, so the backends compute the same bits outside attention.
     */
    private NDArray servingForwardOnCpu(ModelWeights w, Bf16Weights p, LoraAdapter a, NDArray tokenIds,
            NDArray positions, AttentionContext ctx, long t, NDManager caller) {
        float eps = (float) config.rmsNormEps();
        int hidden = config.hiddenSize();
        try (NDScope scope = new NDScope()) {
            float[] x = w.embed().get(new NDIndex("{}", tokenIds)).toFloatArray();
            RotaryEmbedding.Rotation rotation = rope.at(positions);
            for (int i = 0; i < w.layers().size(); i++) {
                try (NDScope layerScope = new NDScope()) {
                    ModelWeights.Layer l = w.layers().get(i);
                    Bf16Weights.Layer bl = p == null ? null : p.layer(i);
                    NDManager m = tokenIds.getManager();
                    NDArray normed = m.create(CpuLayerMath.rmsNorm(x, l.inputNorm().toFloatArray(), eps),
                            new Shape(t, hidden));
                    NDArray attn = ctx.attend(i, queriesKeysValues(i, l, bl, a, normed, t, true), rotation);
                    CpuLayerMath.addInPlace(x,
                            project(a, i, LoraTarget.O, attn, l.o(), bl == null ? null : bl.o(), true).toFloatArray());
                    normed = m.create(CpuLayerMath.rmsNorm(x, l.postNorm().toFloatArray(), eps), new Shape(t, hidden));
                    float[] gateUp = project(a, i, LoraTarget.GATE_UP, normed, l.gateUp(),
                            bl == null ? null : bl.gateUp(), true).toFloatArray();
                    int inter = config.intermediateSize();
                    NDArray act = m.create(CpuLayerMath.swiglu(gateUp, inter), new Shape(t, inter));
                    CpuLayerMath.addInPlace(x, project(a, i, LoraTarget.DOWN, act, l.down(),
                            bl == null ? null : bl.down(), true).toFloatArray());
                }
            }
            NDArray out = caller.create(CpuLayerMath.rmsNorm(x, w.norm().toFloatArray(), eps), new Shape(t, hidden));
            NDScope.unregister(out);
            return out;
        }
    }

    /** {@code bl}: the layer's bf16 projections, or null for libtorch's matmul. */
    private NDArray layer(int i, ModelWeights.Layer l, Bf16Weights.Layer bl, LoraAdapter a, NDArray x,
            RotaryEmbedding.Rotation rotation, AttentionContext ctx, long t) {
        int inter = config.intermediateSize();
        float eps = (float) config.rmsNormEps();
        NDArray attn = ctx.attend(i, queriesKeysValues(i, l, bl, a, rmsNorm(x, l.inputNorm(), eps), t, false),
                rotation);
        NDArray h = x.add(project(a, i, LoraTarget.O, attn, l.o(), bl == null ? null : bl.o(), false));
        NDArray gateUp = project(a, i, LoraTarget.GATE_UP, rmsNorm(h, l.postNorm(), eps), l.gateUp(),
                bl == null ? null : bl.gateUp(), false);
        // a split, not two slices: under autograd each slice's backward zero-fills a [T, 2·inter] gradient
        NDList gateAndUp = gateUp.split(new long[] {inter}, 1);
        NDArray gate = gateAndUp.get(0);
        NDArray up = gateAndUp.get(1);
        return h.add(project(a, i, LoraTarget.DOWN, gate.mul(Activation.sigmoid(gate)).mul(up), l.down(),
                bl == null ? null : bl.down(), false));
    }

    /**
     * The fused q/k/v projection of the input-normed stream as {@code [t, heads + 2 * kvHeads, headDim]}, with the
     * bias (Qwen2) and the per-head q and k norms (Qwen3) where the model has them.
     */
    private NDArray queriesKeysValues(int i, ModelWeights.Layer l, Bf16Weights.Layer bl, LoraAdapter a, NDArray normed,
            long t, boolean serving) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int headDim = config.headDim();
        float eps = (float) config.rmsNormEps();
        NDArray qkv = project(a, i, LoraTarget.QKV, normed, l.qkv(), bl == null ? null : bl.qkv(), serving);
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
        return qkv;
    }

    /**
     * hidden [R, hidden] to logits [R, vocab] (fp32), attached to the manager of {@code hidden}; over the bf16 copy of
     * the head in the bf16 serving mode for few rows outside autograd, else over the fp32 kernel
     * ({@link NativeProjection}) for up to {@link CpuLayerMath#MAX_ROWS} rows outside autograd on the CPU.
     */
    public NDArray logits(NDArray hidden) {
        ModelWeights w = weights;
        Bf16Weights b = bf16;
        try (NDScope scope = new NDScope()) {
            boolean kernel = b != null && b.copies(w) && Bf16Weights.suits(hidden.getShape().get(0));
            NDArray logits = kernel ? Bf16Weights.apply(b.lmHead(), hidden) : linear(hidden, w.lmHead(),
                    hidden.getShape().get(0) <= CpuLayerMath.MAX_ROWS && !JniUtils.isGradMode());
            logits.attach(hidden.getManager());
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * A layer's linear projection, over {@code bf16} when given, else over the fp32 kernel in a serving step
     * ({@code serving}: outside autograd, on the CPU) of few rows, plus the adapter's term for the modules it targets.
     */
    private static NDArray project(LoraAdapter a, int layer, List<LoraTarget> modules, NDArray x, NDArray weight,
            Bf16Matrix bf16, boolean serving) {
        NDArray y = bf16 != null ? Bf16Weights.apply(bf16, x) : linear(x, weight, serving);
        return a == null ? y : a.addTo(layer, modules, x, y);
    }

    /**
     * {@link #linear(NDArray, NDArray)} over the fp32 kernel ({@link NativeProjection}) when {@code fewRows} (a serving
     * step's rows, outside autograd) and the kernel takes the weight.
     */
    private static NDArray linear(NDArray x, NDArray weight, boolean fewRows) {
        return fewRows && NativeProjection.suits(x, weight) ? NativeProjection.apply(x, weight) : linear(x, weight);
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
