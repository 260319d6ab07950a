package dev.rollout.tiny;

import dev.rollout.model.ModelConfig;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random fp32 weights for a config, named as Hugging Face names Llama/Qwen parameters: normal(0, 0.02) for matrices,
 * embeddings and biases, 1 for RMSNorm weights. Each tensor draws from its own generator seeded by (seed, name), so a
 * tensor's values depend only on the seed, its name and its shape.
 */
public final class RandomWeights {
    static final double STD = 0.02;

    private RandomWeights() {}

    public static List<HostTensor> generate(ModelConfig config, long seed) {
        List<HostTensor> tensors = new ArrayList<>();
        parameterShapes(config).forEach((name, shape) -> tensors.add(
                isNorm(name) ? ones(name, shape) : normal(name, shape, new SplittableRandom(mix(seed, name)))));
        return tensors;
    }

    /**
     * Every parameter of the model with its shape, in the order transformers lists them ({@code [out, in]} for linear
     * layers). Biases are on q/k/v only (Qwen2's layout); q/k norms only for Qwen3.
     */
    public static Map<String, long[]> parameterShapes(ModelConfig c) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        long hidden = c.hiddenSize();
        shapes.put("model.embed_tokens.weight", new long[] {c.vocabSize(), hidden});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "self_attn.q_proj.weight", new long[] {c.qSize(), hidden});
            if (c.attentionBias()) {
                shapes.put(p + "self_attn.q_proj.bias", new long[] {c.qSize()});
            }
            shapes.put(p + "self_attn.k_proj.weight", new long[] {c.kvSize(), hidden});
            if (c.attentionBias()) {
                shapes.put(p + "self_attn.k_proj.bias", new long[] {c.kvSize()});
            }
            shapes.put(p + "self_attn.v_proj.weight", new long[] {c.kvSize(), hidden});
            if (c.attentionBias()) {
                shapes.put(p + "self_attn.v_proj.bias", new long[] {c.kvSize()});
            }
            shapes.put(p + "self_attn.o_proj.weight", new long[] {hidden, c.qSize()});
            if (c.qkNorm()) {
                shapes.put(p + "self_attn.q_norm.weight", new long[] {c.headDim()});
                shapes.put(p + "self_attn.k_norm.weight", new long[] {c.headDim()});
            }
            shapes.put(p + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), hidden});
            shapes.put(p + "mlp.up_proj.weight", new long[] {c.intermediateSize(), hidden});
            shapes.put(p + "mlp.down_proj.weight", new long[] {hidden, c.intermediateSize()});
            shapes.put(p + "input_layernorm.weight", new long[] {hidden});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {hidden});
        }
        shapes.put("model.norm.weight", new long[] {hidden});
        if (!c.tieWordEmbeddings()) {
            shapes.put("lm_head.weight", new long[] {c.vocabSize(), hidden});
        }
        return shapes;
    }

    private static boolean isNorm(String name) {
        return name.endsWith("norm.weight");
    }

    private static HostTensor ones(String name, long[] shape) {
        ByteBuffer buf = allocate(name, shape);
        while (buf.hasRemaining()) {
            buf.putFloat(1f);
        }
        return new HostTensor(name, DType.F32, shape, buf.flip());
    }

    /** Box-Muller on the generator's doubles: the same values on every JDK (nextGaussian's algorithm is not specified). */
    private static HostTensor normal(String name, long[] shape, SplittableRandom random) {
        ByteBuffer buf = allocate(name, shape);
        while (buf.hasRemaining()) {
            double radius = STD * Math.sqrt(-2 * Math.log(1 - random.nextDouble()));
            double angle = 2 * Math.PI * random.nextDouble();
            buf.putFloat((float) (radius * Math.cos(angle)));
            if (buf.hasRemaining()) {
                buf.putFloat((float) (radius * Math.sin(angle)));
            }
        }
        return new HostTensor(name, DType.F32, shape, buf.flip());
    }

    private static ByteBuffer allocate(String name, long[] shape) {
        long bytes = HostTensor.numElements(shape) * 4;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + name + "' would need " + bytes + " bytes, above 2 GiB");
        }
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** FNV-1a over the name, folded into the seed: stable across runs and JDKs, unlike String.hashCode's use. */
    private static long mix(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return seed * 0x9E3779B97F4A7C15L ^ h;
    }
}
