package dev.rollout.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights.TensorShape;
import dev.rollout.model.Scalars;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The tensors of a LoRA adapter, {@code A [r, in]} and {@code B [out, r]} per targeted module and layer, and the
 * adapted projection {@code x W^T + scale · (dropout(x) A^T) B^T} that {@code CausalLM} adds to a frozen base
 * projection. Names are PEFT's ({@link #tensorName}), so the adapter saves, loads and syncs as PEFT's files do.
 */
public final class LoraAdapter implements AutoCloseable {
    private static final String PREFIX = "base_model.model.";

    private final LoraConfig config;
    private final ModelConfig model;
    private final NDManager manager;
    private final List<Map<LoraTarget, NDArray[]>> layers; // per layer: target -> {A, B}

    private LoraAdapter(LoraConfig config, ModelConfig model, NDManager manager, List<Map<LoraTarget, NDArray[]>> layers) {
        this.config = config;
        this.model = model;
        this.manager = manager;
        this.layers = layers;
    }

    /** PEFT's name of a LoRA tensor: {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}. */
    public static String tensorName(int layer, LoraTarget target, boolean isA) {
        return PREFIX + target.modulePath(layer) + (isA ? ".lora_A.weight" : ".lora_B.weight");
    }

    /** Every tensor the adapter has, with its shape, in layer then module order, A before B. */
    public static List<TensorShape> expectedTensors(LoraConfig config, ModelConfig model) {
        List<TensorShape> out = new ArrayList<>();
        for (int i = 0; i < model.numLayers(); i++) {
            for (LoraTarget t : LoraTarget.values()) {
                if (config.targets(t)) {
                    out.add(new TensorShape(tensorName(i, t, true), new long[] {config.r(), t.inFeatures(model)}));
                    out.add(new TensorShape(tensorName(i, t, false), new long[] {t.outFeatures(model), config.r()}));
                }
            }
        }
        return out;
    }

    /**
     * A fresh adapter as PEFT initialises one: A from Kaiming-uniform with a = sqrt(5) (uniform in ±1/sqrt(in)),
     * B zero, so the adapted model starts exactly at the base. Deterministic in {@code seed}.
     */
    public static LoraAdapter initialize(LoraConfig config, ModelConfig model, long seed, NDManager parent) {
        SplittableRandom rng = new SplittableRandom(seed);
        NDManager m = parent.newSubManager();
        List<Map<LoraTarget, NDArray[]>> layers = new ArrayList<>();
        for (int i = 0; i < model.numLayers(); i++) {
            Map<LoraTarget, NDArray[]> layer = new EnumMap<>(LoraTarget.class);
            for (LoraTarget t : LoraTarget.values()) {
                if (!config.targets(t)) {
                    continue;
                }
                long in = t.inFeatures(model);
                double bound = 1 / Math.sqrt(in);
                float[] a = new float[(int) (config.r() * in)];
                for (int k = 0; k < a.length; k++) {
                    a[k] = (float) ((rng.nextDouble() * 2 - 1) * bound);
                }
                layer.put(t, new NDArray[] {m.create(a, new Shape(config.r(), in)),
                        m.zeros(new Shape(t.outFeatures(model), config.r()), DataType.FLOAT32)});
            }
            layers.add(layer);
        }
        return new LoraAdapter(config, model, m, layers);
    }

    /**
     * An adapter from tensors under PEFT's names (a saved {@code adapter_model.safetensors} or a sync).
     *
     * @throws IllegalArgumentException naming a missing, unknown or misshapen tensor
     */
    public static LoraAdapter fromHost(LoraConfig config, ModelConfig model, Map<String, HostTensor> byName, NDManager parent) {
        List<TensorShape> expected = expectedTensors(config, model);
        Set<String> names = new HashSet<>();
        expected.forEach(t -> names.add(t.name()));
        for (String name : byName.keySet()) {
            if (!names.contains(name)) {
                throw new IllegalArgumentException("adapter tensor '" + name + "' does not belong to a rank-" + config.r()
                        + " adapter of " + config.targetModuleNames() + " on a " + model.numLayers() + "-layer model");
            }
        }
        NDManager m = parent.newSubManager();
        try {
            List<Map<LoraTarget, NDArray[]>> layers = new ArrayList<>();
            for (int i = 0; i < model.numLayers(); i++) {
                layers.add(new EnumMap<>(LoraTarget.class));
            }
            for (int k = 0; k < expected.size(); k += 2) {
                TensorShape a = expected.get(k);
                TensorShape b = expected.get(k + 1);
                String[] parts = a.name().substring(PREFIX.length()).split("\\.");
                int layer = Integer.parseInt(parts[2]);
                LoraTarget target = LoraTarget.byModuleName(parts[4]);
                layers.get(layer).put(target, new NDArray[] {load(m, byName, a), load(m, byName, b)});
            }
            return new LoraAdapter(config, model, m, layers);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static NDArray load(NDManager m, Map<String, HostTensor> byName, TensorShape want) {
        HostTensor t = byName.get(want.name());
        if (t == null) {
            throw new IllegalArgumentException("adapter tensor '" + want.name() + "' is missing");
        }
        if (!Arrays.equals(t.shape(), want.shape())) {
            throw new IllegalArgumentException("adapter tensor '" + want.name() + "' has shape " + Arrays.toString(t.shape())
                    + ", the base model and rank need " + Arrays.toString(want.shape()));
        }
        return m.create(t.toFloats(), new Shape(want.shape()));
    }

    public LoraConfig config() {
        return config;
    }

    public ModelConfig modelConfig() {
        return model;
    }

    /** {A, B} of a module, or null when it is not targeted. */
    public NDArray[] tensors(int layer, LoraTarget target) {
        return layers.get(layer).get(target);
    }

    /** The trainable tensors, in {@link #expectedTensors} order. */
    public List<NDArray> parameters() {
        List<NDArray> out = new ArrayList<>();
        for (Map<LoraTarget, NDArray[]> layer : layers) {
            layer.values().forEach(ab -> out.addAll(List.of(ab)));
        }
        return out;
    }

    /** The tensors under PEFT's names, fp32, in {@link #expectedTensors} order. */
    public List<HostTensor> toHost() {
        List<HostTensor> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            for (Map.Entry<LoraTarget, NDArray[]> e : layers.get(i).entrySet()) {
                NDArray a = e.getValue()[0];
                NDArray b = e.getValue()[1];
                out.add(HostTensor.ofFloats(tensorName(i, e.getKey(), true), a.getShape().getShape(), a.toFloatArray()));
                out.add(HostTensor.ofFloats(tensorName(i, e.getKey(), false), b.getShape().getShape(), b.toFloatArray()));
            }
        }
        return out;
    }

    /**
     * {@code y + scale · (dropout(x) A^T) B^T} for the modules of a fused projection (zeros for the untargeted ones),
     * or {@code y} itself when none is targeted. Dropout acts only while autograd records, i.e. in the training
     * forward, as PEFT's does in train mode; scoring and generation see the adapter without it.
     *
     * <p>Without dropout the modules share their input, so their A's go through one matmul ({@code x [A_q; A_k;
     * A_v]^T}): one pass over x instead of one per module, forward and backward. The scale multiplies the rank-r
     * product, not the module's output, r columns instead of the output's (the same value: a product of three
     * factors, exact for PEFT's usual power-of-two scales).
     *
     * @param group the modules whose outputs the fused projection concatenates ({@link LoraTarget#QKV}, ...)
     */
    public NDArray addTo(int layer, List<LoraTarget> group, NDArray x, NDArray y) {
        Map<LoraTarget, NDArray[]> adapted = layers.get(layer);
        List<LoraTarget> targeted = group.stream().filter(adapted::containsKey).toList();
        if (targeted.isEmpty()) {
            return y;
        }
        boolean drop = config.dropout() > 0 && JniUtils.isGradMode();
        List<NDArray> down; // per targeted module: scale · in A^T, [R, r]
        if (drop) {
            down = new ArrayList<>(targeted.size());
            for (LoraTarget t : targeted) {
                // each module its own mask, as each of PEFT's modules has its own nn.Dropout
                down.add(scaled(dropout(x).matMul(adapted.get(t)[0].transpose())));
            }
        } else if (targeted.size() == 1) {
            down = List.of(scaled(x.matMul(adapted.get(targeted.get(0))[0].transpose())));
        } else {
            NDList as = new NDList();
            long[] starts = new long[targeted.size() - 1];
            for (int k = 0; k < targeted.size(); k++) {
                as.add(adapted.get(targeted.get(k))[0]);
                if (k > 0) {
                    starts[k - 1] = (long) k * config.r();
                }
            }
            down = scaled(x.matMul(NDArrays.concat(as).transpose())).split(starts, 1);
        }
        long rows = x.getShape().get(0);
        NDList parts = new NDList();
        int next = 0;
        for (LoraTarget t : group) {
            NDArray[] ab = adapted.get(t);
            parts.add(ab == null ? x.getManager().zeros(new Shape(rows, t.outFeatures(model)), x.getDataType(), x.getDevice())
                    : down.get(next++).matMul(ab[1].transpose()));
        }
        return y.add(parts.size() == 1 ? parts.head() : NDArrays.concat(parts, -1));
    }

    /** Not DJL's mul(Number): autograd keeps the scale for backward, and DJL's would be freed by the GC. */
    private NDArray scaled(NDArray h) {
        return Scalars.mul(h, config.scale());
    }

    /** torch's dropout, as PEFT's {@code nn.Dropout}: zeroes each input with probability p, scales the rest by 1/(1-p). */
    private NDArray dropout(NDArray x) {
        return x.getNDArrayInternal().dropout(x, (float) config.dropout(), true).singletonOrThrow();
    }

    @Override
    public void close() {
        manager.close();
    }
}
