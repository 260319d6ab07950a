package dev.rollout.model;

import ai.djl.Device;
import java.util.Locale;

/**
 * Which implementation of paged attention a serving step uses. {@code JAVA}: rotation, the K/V write and decode
 * attention in plain Java SIMD over the cache's CPU memory ({@link CpuPagedAttention}); needs the cache on the CPU and
 * the JVM started with {@code --add-modules jdk.incubator.vector}. {@code TENSOR}: tensor ops on the cache's device
 * ({@link TensorPagedAttention}), what a GPU runs. {@code AUTO}: {@code JAVA} where it can run, {@code TENSOR} elsewhere.
 */
public enum AttentionBackend {
    AUTO, JAVA, TENSOR;

    /** Whether the JVM was started with {@code --add-modules jdk.incubator.vector}, which the Java kernel needs. */
    static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** {@code auto}, {@code java} or {@code tensor}, as the server's {@code --attention-backend} takes it. */
    public static AttentionBackend parse(String value) {
        return switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "java" -> JAVA;
            case "tensor" -> TENSOR;
            default -> throw new IllegalArgumentException("attention backend must be auto, java or tensor, got '" + value + "'");
        };
    }

    /**
     * The backend that runs over {@code cache}: {@code JAVA} or {@code TENSOR}. Throws {@link IllegalArgumentException}
     * when {@code JAVA} is asked for where it cannot run.
     */
    public AttentionBackend resolve(KvCache cache) {
        String javaUnavailable = javaUnavailableReason(cache);
        return switch (this) {
            case TENSOR -> TENSOR;
            case JAVA -> {
                if (javaUnavailable != null) {
                    throw new IllegalArgumentException("attention backend java cannot run here: " + javaUnavailable
                            + "; use tensor or auto");
                }
                yield JAVA;
            }
            case AUTO -> javaUnavailable == null ? JAVA : TENSOR;
        };
    }

    /**
     * The backend a cache on {@code device} will get, known before the cache exists (to size it): as
     * {@link #resolve(KvCache)}, less the 2 GiB bound of a CPU cache tensor, which the cache sizing keeps to.
     */
    public AttentionBackend expectedOn(Device device) {
        boolean javaPossible = (device == null || !device.isGpu()) && VECTOR_API;
        return this == TENSOR || (this == AUTO && !javaPossible) ? TENSOR : JAVA;
    }

    /** Why the Java backend cannot run over {@code cache}, or null when it can. */
    public static String javaUnavailableReason(KvCache cache) {
        if (!"cpu".equals(cache.keys(0).getDevice().getDeviceType())) {
            return "the KV cache is on " + cache.keys(0).getDevice();
        }
        if (!VECTOR_API) {
            return "the JVM was started without --add-modules jdk.incubator.vector";
        }
        // the kernel reads the cache through one direct buffer per tensor, which cannot exceed 2 GiB
        if (cache.keys(0).size() * 4 >= Integer.MAX_VALUE) {
            return "a layer's KV tensor exceeds 2 GiB";
        }
        return null;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
