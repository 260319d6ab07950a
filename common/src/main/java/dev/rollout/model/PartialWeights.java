package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A partial weight update built on the device: each parameter is the sent tensor (uploaded) or a device copy of the
 * current one; a fused parameter (q/k/v, gate/up) some of whose parts were sent is the concatenation of the sent parts
 * and slices of the current tensor. Copying the whole model to the host and back, as a rebuild from host tensors
 * would, costs a device round trip of every weight per sync.
 */
final class PartialWeights {
    private final Map<String, HostTensor> sent;
    private final Map<String, long[]> shapes = new HashMap<>();
    private final NDManager m;

    private PartialWeights(ModelConfig c, Map<String, HostTensor> sent, NDManager m) {
        this.sent = sent;
        this.m = m;
        ModelWeights.expectedTensors(c).forEach(t -> shapes.put(t.name(), t.shape()));
    }

    static ModelWeights replace(ModelWeights w, Map<String, HostTensor> sent, NDManager manager) {
        ModelConfig c = w.config();
        NDManager m = manager.newSubManager();
        try {
            PartialWeights p = new PartialWeights(c, sent, m);
            for (String name : sent.keySet()) {
                if (!p.shapes.containsKey(name)) {
                    throw new IllegalArgumentException("unknown tensor '" + name + "' for a " + c.architecture()
                            + " with " + c.numLayers() + " layers");
                }
            }
            List<ModelWeights.Layer> layers = new ArrayList<>();
            for (int i = 0; i < c.numLayers(); i++) {
                ModelWeights.Layer l = w.layers().get(i);
                String pre = "model.layers." + i + ".";
                String a = pre + "self_attn.";
                layers.add(new ModelWeights.Layer(
                        p.one(pre + "input_layernorm.weight", l.inputNorm()),
                        p.fused(l.qkv(), a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"),
                        l.qkvBias() == null ? null : p.fused(l.qkvBias(), a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"),
                        l.qNorm() == null ? null : p.one(a + "q_norm.weight", l.qNorm()),
                        l.kNorm() == null ? null : p.one(a + "k_norm.weight", l.kNorm()),
                        p.one(a + "o_proj.weight", l.o()),
                        p.one(pre + "post_attention_layernorm.weight", l.postNorm()),
                        p.fused(l.gateUp(), pre + "mlp.gate_proj.weight", pre + "mlp.up_proj.weight"),
                        p.one(pre + "mlp.down_proj.weight", l.down())));
            }
            return new ModelWeights(c, m, p.one("model.embed_tokens.weight", w.embed()), layers,
                    p.one("model.norm.weight", w.norm()), c.tieWordEmbeddings() ? null : p.one("lm_head.weight", w.lmHead()));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The sent tensor {@code name}, or a device copy of {@code current}. */
    private NDArray one(String name, NDArray current) {
        return sent.containsKey(name) ? upload(name) : copy(current);
    }

    /** A fused parameter whose row blocks are the tensors {@code names}: each sent one uploaded, the others sliced on the device. */
    private NDArray fused(NDArray current, String... names) {
        if (Arrays.stream(names).noneMatch(sent::containsKey)) {
            return copy(current);
        }
        NDList parts = new NDList(names.length);
        long row = 0;
        for (String name : names) {
            long rows = shapes.get(name)[0];
            parts.add(sent.containsKey(name) ? upload(name) : current.get(new NDIndex("{}:{}", row, row + rows)));
            row += rows;
        }
        NDArray all = NDArrays.concat(parts, 0);
        all.attach(m);
        parts.close();
        return all;
    }

    private NDArray upload(String name) {
        HostTensor t = sent.get(name);
        long[] want = shapes.get(name);
        if (!Arrays.equals(t.shape(), want)) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", the config needs " + Arrays.toString(want));
        }
        return m.create(t.toFloats(), new Shape(want));
    }

    private NDArray copy(NDArray current) {
        NDArray copy = current.duplicate();
        copy.attach(m);
        return copy;
    }
}
