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
 * The weights {@code W + scale · B · A} of a base and an adapter: a new matrix for each fused projection the adapter
 * targets, every other tensor (embeddings, norms, LM head, untargeted projections) the base's own, shared. The base is
 * read, never written, and merging from merged weights is refused ({@link ModelWeights#derived}), so each adapter
 * version is merged from the same base instead of adding to an earlier merge.
 */
public final class LoraMerge {
    private LoraMerge() {}

    /**
     * Weights derived from {@code base}: the targeted fused matrices merged on a new sub-manager of {@code parent} (what
     * closing the result frees), the rest shared with {@code base}, which must outlive the result.
     *
     * @throws IllegalArgumentException when {@code base} is itself merged weights, or the adapter is for another model
     */
    public static ModelWeights merge(ModelWeights base, LoraAdapter adapter, NDManager parent) {
        ModelConfig c = base.config();
        if (!adapter.modelConfig().equals(c)) {
            throw new IllegalArgumentException("the adapter was made for a different model config");
        }
        if (base.base() != null) {
            throw new IllegalArgumentException("an adapter merges into the base weights, not into weights already merged");
        }
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        NDManager m = parent.newSubManager();
        try {
            List<ModelWeights.Layer> layers = new ArrayList<>();
            for (int i = 0; i < base.layers().size(); i++) {
                ModelWeights.Layer l = base.layers().get(i);
                layers.add(new ModelWeights.Layer(l.inputNorm(),
                        merged(l.qkv(), adapter, i, LoraTarget.QKV, m),
                        l.qkvBias(), l.qNorm(), l.kNorm(),
                        merged(l.o(), adapter, i, LoraTarget.O, m),
                        l.postNorm(),
                        merged(l.gateUp(), adapter, i, LoraTarget.GATE_UP, m),
                        merged(l.down(), adapter, i, LoraTarget.DOWN, m)));
            }
            return ModelWeights.derived(base, m, base.embed(), layers, base.norm(),
                    c.tieWordEmbeddings() ? null : base.lmHead());
        } catch (RuntimeException e) {
            m.close();
            throw e;
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * {@code weight} plus the deltas of the group's targeted modules, stacked by rows as the fused matrix is, as a new
     * matrix on {@code m}; {@code weight} itself when the group has no targeted module. The fused delta is one matmul,
     * {@code B' [out, k·r]} (each targeted module's {@code scale · B} in its own rows and rank columns, zeros elsewhere)
     * times the stacked {@code A [k·r, in]}, to which the base is then added in place: one new matrix, written twice,
     * where a delta per module, their concatenation and a sum would write it four times.
     */
    private static NDArray merged(NDArray weight, LoraAdapter adapter, int layer, List<LoraTarget> group, NDManager m) {
        List<LoraTarget> targeted = group.stream().filter(t -> adapter.tensors(layer, t) != null).toList();
        if (targeted.isEmpty()) {
            return weight;
        }
        ModelConfig c = adapter.modelConfig();
        int r = adapter.config().r();
        long rank = (long) r * targeted.size();
        float scale = (float) adapter.config().scale();
        try (NDScope scope = new NDScope()) {
            NDManager tmp = weight.getManager();
            NDList a = new NDList();
            NDList b = new NDList();
            for (LoraTarget t : group) {
                int j = targeted.indexOf(t);
                long out = t.outFeatures(c);
                if (j < 0) {
                    b.add(tmp.zeros(new Shape(out, rank)));
                    continue;
                }
                NDArray[] ab = adapter.tensors(layer, t);
                a.add(ab[0]);
                NDList row = new NDList();
                if (j > 0) {
                    row.add(tmp.zeros(new Shape(out, (long) j * r)));
                }
                row.add(ab[1].mul(scale));
                if (j < targeted.size() - 1) {
                    row.add(tmp.zeros(new Shape(out, rank - (long) (j + 1) * r)));
                }
                b.add(row.size() == 1 ? row.head() : NDArrays.concat(row, 1));
            }
            NDArray stackedB = b.size() == 1 ? b.head() : NDArrays.concat(b, 0);
            NDArray stackedA = a.size() == 1 ? a.head() : NDArrays.concat(a, 0);
            NDArray out = stackedB.matMul(stackedA).addi(weight);
            out.attach(m);
            NDScope.unregister(out);
            return out;
        }
    }
}
