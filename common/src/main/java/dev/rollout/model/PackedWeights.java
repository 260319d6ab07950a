package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * The serving copy of a {@link ModelWeights}' matrices for the CPU kernels ({@link PackedMatrix}): each layer's
 * fused q/k/v, output, fused gate/up and down projections, and the LM head, transposed into Java arrays. Built from
 * the weights, never edited: new weights (a load, a full or partial sync, a LoRA merge) get a new packing through
 * {@link #of}, and {@link #packs} tells whether a packing is of the weights at hand.
 */
final class PackedWeights {
    /** One layer's projections, in the order the forward uses them. */
    record Layer(PackedMatrix qkv, PackedMatrix o, PackedMatrix gateUp, PackedMatrix down) {}

    private final ModelWeights source;
    private final List<Layer> layers;
    private final PackedMatrix lmHead;

    private PackedWeights(ModelWeights source, List<Layer> layers, PackedMatrix lmHead) {
        this.source = source;
        this.layers = List.copyOf(layers);
        this.lmHead = lmHead;
    }

    /** Packs every projection of {@code w} (one host copy of each matrix, transposed). */
    static PackedWeights of(ModelWeights w) {
        List<Layer> layers = new ArrayList<>(w.layers().size());
        for (ModelWeights.Layer l : w.layers()) {
            layers.add(new Layer(pack(l.qkv()), pack(l.o()), pack(l.gateUp()), pack(l.down())));
        }
        return new PackedWeights(w, layers, pack(w.lmHead()));
    }

    private static PackedMatrix pack(NDArray weight) {
        long[] s = weight.getShape().getShape();
        return PackedMatrix.ofRowMajor(weight.toFloatArray(), Math.toIntExact(s[0]), Math.toIntExact(s[1]));
    }

    /** Whether this is the packing of exactly {@code w} (the same instance: weights are never edited in place). */
    boolean packs(ModelWeights w) {
        return source == w;
    }

    Layer layer(int i) {
        return layers.get(i);
    }

    PackedMatrix lmHead() {
        return lmHead;
    }
}
