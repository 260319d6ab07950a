package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * {@code y = x · Wᵀ} in fp32 for the CPU serving steps of few rows ({@link CpuLayerMath#MAX_ROWS}), over a Hugging Face
 * {@code [out, in]} weight where libtorch keeps it: the hand-written AVX-512 kernel of {@code rollout_kernels.c},
 * built with the project and packed in this jar. At these shapes libtorch's SGEMM reads the weights at a fraction of
 * the bandwidth, and waking its second OpenMP thread for each of a step's ~35 products costs more than the split
 * saves (docs/benchmarks.md, "The projection kernel").
 *
 * <p>The outputs are split over {@link CpuWorkers}. Each output element is computed
 * whole by one thread in the same order whatever the rows beside it, so a row's result does not depend on the batch.
 * Off x86-64 Linux, on a CPU without AVX-512, or with {@code -D}{@value #PROPERTY}{@code =false}, the engine keeps
 * libtorch's matmul; the reason is logged once.
 */
public final class NativeProjection {
    /** System property: {@code false} turns the kernel off (libtorch's matmul for every projection). */
    public static final String PROPERTY = "rollout.native.kernels";
    private static final String LIBRARY = "librollout_kernels-linux-x86_64.so";

    private static final String UNAVAILABLE = load();

    private NativeProjection() {}

    /** Whether the kernel is loaded and runs on this CPU. */
    public static boolean available() {
        return UNAVAILABLE == null;
    }

    /** Why the kernel is not used, or null when it is. */
    public static String unavailableReason() {
        return UNAVAILABLE;
    }

    /**
     * Weights of fewer elements stay on libtorch: its GEMM over them takes a few microseconds, less than the buffers
     * and the hand-off to a worker cost here (the demo's tiny model, whose largest projection has 98k, generated at
     * 0.8-0.9x the rate with them on the kernel). The choice depends on the weight only, never on the rows.
     */
    static final long MIN_WEIGHT_ELEMENTS = 1L << 18;

    /** Whether a projection of {@code x} over {@code weight} runs here: loaded, a large fp32 weight, on the CPU. */
    static boolean suits(NDArray x, NDArray weight) {
        return UNAVAILABLE == null && weight.size() >= MIN_WEIGHT_ELEMENTS
                && weight.getDataType() == DataType.FLOAT32 && x.getDataType() == DataType.FLOAT32
                && "cpu".equals(weight.getDevice().getDeviceType()) && "cpu".equals(x.getDevice().getDeviceType());
    }

    /**
     * x {@code [.., in]} times the {@code [out, in]} weight: {@code [rows, out]}, attached to the manager of {@code x}.
     */
    static NDArray apply(NDArray x, NDArray weight) {
        int in = Math.toIntExact(weight.getShape().get(1));
        int out = Math.toIntExact(weight.getShape().get(0));
        if (x.size() % in != 0) {
            throw new IllegalArgumentException("input " + x.getShape() + " does not end in " + in + " features");
        }
        int rows = Math.toIntExact(x.size() / in);
        NDArray y = x.getManager().create(new Shape(rows, out), DataType.FLOAT32);
        // direct buffers over the tensors' memory: contiguous CPU tensors are not copied (x may be a view: then a copy)
        ByteBuffer xb = x.toByteBuffer(true);
        ByteBuffer wb = weight.toByteBuffer(true);
        ByteBuffer yb = y.toByteBuffer(true);
        if (!xb.isDirect() || !wb.isDirect() || !yb.isDirect()) {
            throw new IllegalStateException("libtorch gave a heap buffer for a CPU tensor");
        }
        // whole tiles of 4 outputs per thread; the weights it takes (MIN_WEIGHT_ELEMENTS) are always worth splitting
        int shares = Math.max(1, Math.min(CpuWorkers.threads(), out / 4));
        int per = (out / shares + 3) / 4 * 4;
        CpuWorkers.run(shares, share -> {
            int from = Math.min(out, share * per);
            int to = share == shares - 1 ? out : Math.min(out, from + per);
            if (from < to) {
                multiply(xb, wb, yb, rows, in, out, from, to);
            }
        });
        return y;
    }

    private static String load() {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
            return log("turned off by -D" + PROPERTY + "=false");
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return log("built for x86-64 Linux, this is " + os + " on " + arch);
        }
        try (InputStream in = NativeProjection.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                return log(LIBRARY + " is not on the class path (built without gcc?)");
            }
            Path file = Files.createTempFile("rollout-kernels", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toString());
        } catch (IOException | UnsatisfiedLinkError e) {
            return log("could not load " + LIBRARY + ": " + e);
        }
        if (!supported()) {
            return log("this CPU has no AVX-512");
        }
        LoggerFactory.getLogger(NativeProjection.class).info(
                "fp32 projections of serving steps of up to {} rows: the AVX-512 kernel", CpuLayerMath.MAX_ROWS);
        return null;
    }

    private static String log(String why) {
        LoggerFactory.getLogger(NativeProjection.class).info("fp32 projections: libtorch's matmul ({})", why);
        return why;
    }

    private static native boolean supported();

    private static native void multiply(ByteBuffer x, ByteBuffer w, ByteBuffer y, int rows, int in, int out,
            int from, int to);
}
