package dev.rollout.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import java.util.ArrayList;
import java.util.List;

/**
 * The merged weights {@code W + scale · B · A} of a base and an adapter, as a new set: the base is read, never written,
 * so merging a later adapter version starts from the same base again instead of adding to an earlier merge.
 */
public final class LoraMerge {
    private LoraMerge() {}

    /** A full copy of {@code base} on a sub-manager of {@code parent}, with the adapter's targeted modules merged in. */
    public static ModelWeights merge(ModelWeights base, LoraAdapter adapter, NDManager parent) {
        ModelConfig c = base.config();
        if (!adapter.modelConfig().equals(c)) {
            throw new IllegalArgumentException("the adapter was made for a different model config");
        }
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        NDManager m = parent.newSubManager();
        try (NDScope scope = new NDScope()) {
            Keeper k = new Keeper(m);
            List<ModelWeights.Layer> layers = new ArrayList<>();
            for (int i = 0; i < base.layers().size(); i++) {
                ModelWeights.Layer l = base.layers().get(i);
                layers.add(new ModelWeights.Layer(
                        k.copy(l.inputNorm()),
                        k.keep(merged(l.qkv(), adapter, i, LoraTarget.QKV)),
                        k.copy(l.qkvBias()), k.copy(l.qNorm()), k.copy(l.kNorm()),
                        k.keep(merged(l.o(), adapter, i, LoraTarget.O)),
                        k.copy(l.postNorm()),
                        k.keep(merged(l.gateUp(), adapter, i, LoraTarget.GATE_UP)),
                        k.keep(merged(l.down(), adapter, i, LoraTarget.DOWN))));
            }
            NDArray embed = k.copy(base.embed());
            NDArray lmHead = c.tieWordEmbeddings() ? null : k.copy(base.lmHead());
            return ModelWeights.of(c, m, embed, layers, k.copy(base.norm()), lmHead);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /** {@code weight} plus the deltas of the group's targeted modules, stacked by rows as the fused matrix is. */
    private static NDArray merged(NDArray weight, LoraAdapter adapter, int layer, List<LoraTarget> group) {
        NDList parts = new NDList();
        boolean any = false;
        long in = weight.getShape().get(1);
        for (LoraTarget t : group) {
            NDArray[] ab = adapter.tensors(layer, t);
            if (ab == null) {
                parts.add(weight.getManager().zeros(new Shape(t.outFeatures(adapter.modelConfig()), in)));
            } else {
                any = true;
                parts.add(ab[1].matMul(ab[0]).mul((float) adapter.config().scale()));
            }
        }
        if (!any) {
            return weight.duplicate();
        }
        return weight.add(parts.size() == 1 ? parts.head() : NDArrays.concat(parts, 0));
    }

    /** Moves what the merged weights keep out of the scope and onto their own manager. */
    private record Keeper(NDManager m) {
        NDArray copy(NDArray a) {
            return a == null ? null : keep(a.duplicate());
        }

        NDArray keep(NDArray a) {
            a.attach(m);
            NDScope.unregister(a);
            return a;
        }
    }
}
