package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The model's parameters in its own layout: Hugging Face's {@code [out, in]} matrices, with q/k/v fused into one
 * {@code [q + 2kv, hidden]} matrix and gate/up into one {@code [2 * intermediate, hidden]} so each is one matmul.
 * {@link #fromHost} fuses tensors named as Hugging Face names them; {@link #toHost} splits them back.
 *
 * <p>A set may be derived from a base ({@link #derived}): it owns the tensors it was given on its own manager and shares
 * every other one with the base, so closing it frees only its own. {@link #releaseFor} frees what a swap leaves unused.
 */
public final class ModelWeights implements AutoCloseable {

    /** A Hugging Face parameter name and its shape. */
    public record TensorShape(String name, long[] shape) {
        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    /** One decoder layer. {@code qkvBias} is null unless the config has attention bias; {@code qNorm}/{@code kNorm} unless q/k norm. */
    public record Layer(NDArray inputNorm, NDArray qkv, NDArray qkvBias, NDArray qNorm, NDArray kNorm, NDArray o,
                        NDArray postNorm, NDArray gateUp, NDArray down) {}

    private final ModelConfig config;
    private final NDManager manager;
    private final NDArray embed;
    private final List<Layer> layers;
    private final NDArray norm;
    private final NDArray lmHead; // null when tied to the embedding
    private final ModelWeights base; // null: every tensor is on this set's own manager

    ModelWeights(ModelConfig config, NDManager manager, NDArray embed, List<Layer> layers, NDArray norm, NDArray lmHead) {
        this(config, manager, embed, layers, norm, lmHead, null);
    }

    private ModelWeights(ModelConfig config, NDManager manager, NDArray embed, List<Layer> layers, NDArray norm,
                         NDArray lmHead, ModelWeights base) {
        this.config = config;
        this.manager = manager;
        this.embed = embed;
        this.layers = List.copyOf(layers);
        this.norm = norm;
        this.lmHead = lmHead;
        this.base = base;
    }

    /**
     * Weights that share {@code base}'s tensors except those the caller created on {@code owner} (a LoRA merge's merged
     * matrices): closing them closes {@code owner} only, and the base must outlive them. One level deep: a derived set
     * is not a base, so every derivation starts from the same self-contained weights.
     *
     * @throws IllegalArgumentException when {@code base} is itself derived, or for another config
     */
    public static ModelWeights derived(ModelWeights base, NDManager owner, NDArray embed, List<Layer> layers, NDArray norm,
                                       NDArray lmHead) {
        if (base.base != null) {
            throw new IllegalArgumentException("weights can be derived from a self-contained base only, not from derived weights");
        }
        return new ModelWeights(base.config, owner, embed, layers, norm, lmHead, base);
    }

    /** The weights these share their other tensors with, or null when they hold all of their own. */
    public ModelWeights base() {
        return base;
    }

    public static List<TensorShape> expectedTensors(ModelConfig c) {
        long h = c.hiddenSize();
        List<TensorShape> out = new ArrayList<>();
        out.add(new TensorShape("model.embed_tokens.weight", new long[] {c.vocabSize(), h}));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            out.add(new TensorShape(p + "input_layernorm.weight", new long[] {h}));
            out.add(new TensorShape(p + "self_attn.q_proj.weight", new long[] {c.qSize(), h}));
            out.add(new TensorShape(p + "self_attn.k_proj.weight", new long[] {c.kvSize(), h}));
            out.add(new TensorShape(p + "self_attn.v_proj.weight", new long[] {c.kvSize(), h}));
            if (c.attentionBias()) {
                out.add(new TensorShape(p + "self_attn.q_proj.bias", new long[] {c.qSize()}));
                out.add(new TensorShape(p + "self_attn.k_proj.bias", new long[] {c.kvSize()}));
                out.add(new TensorShape(p + "self_attn.v_proj.bias", new long[] {c.kvSize()}));
            }
            if (c.qkNorm()) {
                out.add(new TensorShape(p + "self_attn.q_norm.weight", new long[] {c.headDim()}));
                out.add(new TensorShape(p + "self_attn.k_norm.weight", new long[] {c.headDim()}));
            }
            out.add(new TensorShape(p + "self_attn.o_proj.weight", new long[] {h, c.qSize()}));
            out.add(new TensorShape(p + "post_attention_layernorm.weight", new long[] {h}));
            out.add(new TensorShape(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h}));
            out.add(new TensorShape(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h}));
            out.add(new TensorShape(p + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()}));
        }
        out.add(new TensorShape("model.norm.weight", new long[] {h}));
        if (!c.tieWordEmbeddings()) {
            out.add(new TensorShape("lm_head.weight", new long[] {c.vocabSize(), h}));
        }
        return out;
    }

    /** Builds the weights from exactly the expected tensors: a missing, unknown or misshapen tensor is an error naming it. */
    public static ModelWeights fromHost(ModelConfig c, Map<String, HostTensor> byName, NDManager manager) {
        Set<String> expected = new HashSet<>();
        expectedTensors(c).forEach(t -> expected.add(t.name()));
        for (String name : byName.keySet()) {
            if (!expected.contains(name)) {
                throw new IllegalArgumentException("unknown tensor '" + name + "' for a " + c.architecture()
                        + " with " + c.numLayers() + " layers");
            }
        }
        return fromHost(c, byName::get, manager);
    }

    /**
     * Builds the weights, asking {@code source} for each expected Hugging Face name (null: missing). Tensors the source
     * has beyond those are not asked for (checkpoints carry extras such as a tied lm_head).
     */
    public static ModelWeights fromHost(ModelConfig c, Function<String, HostTensor> source, NDManager manager) {
        Map<String, long[]> shapes = new java.util.HashMap<>();
        expectedTensors(c).forEach(t -> shapes.put(t.name(), t.shape()));
        NDManager m = manager.newSubManager();
        try {
            Loader l = new Loader(c, source, shapes, m);
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numLayers(); i++) {
                String p = "model.layers." + i + ".";
                String a = p + "self_attn.";
                layers.add(new Layer(
                        l.load(p + "input_layernorm.weight"),
                        l.fuse(a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"),
                        c.attentionBias() ? l.fuse(a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias") : null,
                        c.qkNorm() ? l.load(a + "q_norm.weight") : null,
                        c.qkNorm() ? l.load(a + "k_norm.weight") : null,
                        l.load(a + "o_proj.weight"),
                        l.load(p + "post_attention_layernorm.weight"),
                        l.fuse(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"),
                        l.load(p + "mlp.down_proj.weight")));
            }
            return new ModelWeights(c, m, l.load("model.embed_tokens.weight"), layers, l.load("model.norm.weight"),
                    c.tieWordEmbeddings() ? null : l.load("lm_head.weight"));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private record Loader(ModelConfig c, Function<String, HostTensor> source, Map<String, long[]> shapes, NDManager m) {
        float[] floats(String name) {
            HostTensor t = source.apply(name);
            if (t == null) {
                throw new IllegalArgumentException("missing tensor '" + name + "'");
            }
            long[] want = shapes.get(name);
            if (!Arrays.equals(t.shape(), want)) {
                throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", the config needs " + Arrays.toString(want));
            }
            return t.toFloats();
        }

        NDArray load(String name) {
            return m.create(floats(name), new Shape(shapes.get(name)));
        }

        /** Concatenates row-major tensors along their first dimension. */
        NDArray fuse(String... names) {
            float[][] parts = new float[names.length][];
            long rows = 0;
            int total = 0;
            for (int i = 0; i < names.length; i++) {
                parts[i] = floats(names[i]);
                rows += shapes.get(names[i])[0];
                total += parts[i].length;
            }
            float[] all = new float[total];
            int at = 0;
            for (float[] p : parts) {
                System.arraycopy(p, 0, all, at, p.length);
                at += p.length;
            }
            long[] first = shapes.get(names[0]);
            long[] shape = first.clone();
            shape[0] = rows;
            return m.create(all, new Shape(shape));
        }
    }

    /**
     * These weights with the tensors of {@code sent} (Hugging Face names) replaced, for a partial sync: the parameters
     * nothing was sent for are copied on the device, never through host memory. An unknown or misshapen tensor is an
     * error naming it.
     */
    public ModelWeights withReplaced(Map<String, HostTensor> sent, NDManager manager) {
        return PartialWeights.replace(this, sent, manager);
    }

    /** The parameters as Hugging Face names them, in fp32, in the order of {@link #expectedTensors}. */
    public List<HostTensor> toHost() {
        ModelConfig c = config;
        List<HostTensor> out = new ArrayList<>();
        out.add(host("model.embed_tokens.weight", embed));
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = "model.layers." + i + ".";
            String a = p + "self_attn.";
            out.add(host(p + "input_layernorm.weight", l.inputNorm()));
            split(out, l.qkv(), new String[] {a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"},
                    new long[] {c.qSize(), c.kvSize(), c.kvSize()});
            if (l.qkvBias() != null) {
                split(out, l.qkvBias(), new String[] {a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"},
                        new long[] {c.qSize(), c.kvSize(), c.kvSize()});
            }
            if (l.qNorm() != null) {
                out.add(host(a + "q_norm.weight", l.qNorm()));
                out.add(host(a + "k_norm.weight", l.kNorm()));
            }
            out.add(host(a + "o_proj.weight", l.o()));
            out.add(host(p + "post_attention_layernorm.weight", l.postNorm()));
            split(out, l.gateUp(), new String[] {p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"},
                    new long[] {c.intermediateSize(), c.intermediateSize()});
            out.add(host(p + "mlp.down_proj.weight", l.down()));
        }
        out.add(host("model.norm.weight", norm));
        if (lmHead != null) {
            out.add(host("lm_head.weight", lmHead));
        }
        return out;
    }

    private static HostTensor host(String name, NDArray a) {
        return HostTensor.ofFloats(name, a.getShape().getShape(), a.toFloatArray());
    }

    private static void split(List<HostTensor> out, NDArray fused, String[] names, long[] rows) {
        float[] all = fused.toFloatArray();
        long[] shape = fused.getShape().getShape();
        long rowSize = 1;
        for (int d = 1; d < shape.length; d++) {
            rowSize *= shape[d];
        }
        int at = 0;
        for (int i = 0; i < names.length; i++) {
            long[] s = shape.clone();
            s[0] = rows[i];
            int n = (int) (rows[i] * rowSize);
            out.add(HostTensor.ofFloats(names[i], s, Arrays.copyOfRange(all, at, at + n)));
            at += n;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public NDArray embed() {
        return embed;
    }

    public List<Layer> layers() {
        return layers;
    }

    public NDArray norm() {
        return norm;
    }

    /** The output projection {@code [vocab, hidden]}: the embedding itself when tied. */
    public NDArray lmHead() {
        return lmHead != null ? lmHead : embed;
    }

    /** Every parameter tensor once (the tied head is the embedding), for autograd and the optimizer. */
    public List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>();
        out.add(embed);
        for (Layer l : layers) {
            out.add(l.inputNorm());
            out.add(l.qkv());
            if (l.qkvBias() != null) {
                out.add(l.qkvBias());
            }
            if (l.qNorm() != null) {
                out.add(l.qNorm());
                out.add(l.kNorm());
            }
            out.add(l.o());
            out.add(l.postNorm());
            out.add(l.gateUp());
            out.add(l.down());
        }
        out.add(norm);
        if (lmHead != null) {
            out.add(lmHead);
        }
        return out;
    }

    /** Bytes the parameters occupy on the device. */
    public long byteSize() {
        return parameters().stream().mapToLong(a -> a.size() * 4).sum();
    }

    /** Bytes of the parameters these weights hold themselves: all of them, or for derived weights those not shared. */
    public long ownedByteSize() {
        if (base == null) {
            return byteSize();
        }
        Set<NDArray> shared = Collections.newSetFromMap(new IdentityHashMap<>());
        shared.addAll(base.parameters());
        return parameters().stream().filter(a -> !shared.contains(a)).mapToLong(a -> a.size() * 4).sum();
    }

    /**
     * Once {@code next} serves instead of these weights: closes each of these and their base that {@code next} neither
     * is nor shares tensors with. From a base to weights derived from it nothing is freed; between two derivations of
     * one base only the old one's own tensors; to unrelated weights, all of the old.
     */
    public void releaseFor(ModelWeights next) {
        for (ModelWeights w : sets()) {
            if (!next.sets().contains(w)) {
                w.close();
            }
        }
    }

    private List<ModelWeights> sets() {
        return base == null ? List.of(this) : List.of(this, base);
    }

    @Override
    public void close() {
        manager.close();
    }
}
