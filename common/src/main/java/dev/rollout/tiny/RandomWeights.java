package dev.rollout.tiny;

import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random fp32 weights for a config, named and shaped as Hugging Face's Llama/Qwen parameters
 * ({@link ModelWeights#expectedTensors}): normal(0, 0.02) for matrices, embeddings and biases, 1 for RMSNorm weights. Each tensor draws from its own generator seeded by (seed, name), so a
 * tensor's values depend only on the seed, its name and its shape.
 */
public final class RandomWeights {
    static final double STD = 0.02;

    private RandomWeights() {}

    public static List<HostTensor> generate(ModelConfig config, long seed) {
        // tensors are independent streams, so generating them in parallel gives the same values
        return ModelWeights.expectedTensors(config).parallelStream()
                .map(s -> isNorm(s.name()) ? ones(s.name(), s.shape())
                        : normal(s.name(), s.shape(), new SplittableRandom(mix(seed, s.name()))))
                .toList();
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

    /**
     * Marsaglia's polar method on the generator's doubles: the same values on every JDK (nextGaussian's algorithm is
     * not specified), and no trigonometry, which would dominate the time for the 135m preset.
     */
    private static HostTensor normal(String name, long[] shape, SplittableRandom random) {
        ByteBuffer buf = allocate(name, shape);
        FloatBuffer out = buf.asFloatBuffer();
        while (out.hasRemaining()) {
            double u;
            double v;
            double s;
            do {
                u = 2 * random.nextDouble() - 1;
                v = 2 * random.nextDouble() - 1;
                s = u * u + v * v;
            } while (s >= 1 || s == 0);
            double scale = STD * Math.sqrt(-2 * Math.log(s) / s);
            out.put((float) (u * scale));
            if (out.hasRemaining()) {
                out.put((float) (v * scale));
            }
        }
        return new HostTensor(name, DType.F32, shape, buf);
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
