package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Serving's projections on the CPU through {@link PackedMatrix}, for the row counts where it beats libtorch's GEMM:
 * {@link #MIN_ROWS} to {@link #MAX_ROWS} rows. oneMKL's SGEMM, which libtorch calls for every matmul here, is at its
 * weakest there (at 8 rows it took as long as at 32); at one row it streams the weights about as fast as this kernel
 * and from 32 rows on its packed GEMM is faster (docs/benchmarks.md, "CPU projections"). The output columns are split
 * over as many threads as libtorch may use ({@link TorchThreads#decide()}), so the kernels run on the cores libtorch
 * would have used, one after the other with it, never beside it.
 */
final class CpuLinear {
    /** From this many rows the Java kernel is faster than libtorch on the projections we serve (docs/benchmarks.md). */
    static final int MIN_ROWS = 2;
    /** Up to this many rows the Java kernel is faster than libtorch on the projections we serve (docs/benchmarks.md). */
    static final int MAX_ROWS = 24;
    /** Below this many multiply-adds a split over threads costs more in the hand-off than it saves. */
    private static final long SPLIT_WORK = 1L << 18;

    private static final int THREADS = TorchThreads.decide();
    private static final ExecutorService WORKERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "rollout-cpu-linear");
        t.setDaemon(true);
        return t;
    });

    private CpuLinear() {}

    /**
     * Whether {@link #apply} should serve a projection of {@code rows} rows: in its range, and no autograd recording
     * (the kernel computes values only, with no backward).
     */
    static boolean suits(long rows) {
        return rows >= MIN_ROWS && rows <= MAX_ROWS && !JniUtils.isGradMode();
    }

    /** {@code x [rows, in]} times the packed weight: {@code [rows, out]}, on the manager of {@code x}. */
    static NDArray apply(PackedMatrix w, NDArray x) {
        int rows = Math.toIntExact(x.getShape().get(0));
        float[] in = x.toFloatArray();
        float[] y = new float[rows * w.out()];
        multiply(w, in, rows, y);
        return x.getManager().create(y, new Shape(rows, w.out()));
    }

    /** {@code y = x · Wᵀ} on the calling thread and, for enough work, the workers. */
    static void multiply(PackedMatrix w, float[] x, int rows, float[] y) {
        multiply(w, x, rows, y, (long) rows * w.in() * w.out() < SPLIT_WORK ? 1 : THREADS);
    }

    /** {@code y = x · Wᵀ} with the columns split in up to {@code threads} parts, the first on the calling thread. */
    static void multiply(PackedMatrix w, float[] x, int rows, float[] y, int threads) {
        int tile = PackedMatrix.tileWidth();
        int tiles = (w.out() + tile - 1) / tile;
        int parts = Math.min(threads, tiles);
        if (parts <= 1) {
            w.multiply(x, rows, y, 0, w.out());
            return;
        }
        List<Future<?>> others = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = p * tiles / parts * tile;
            int to = Math.min(w.out(), (p + 1) * tiles / parts * tile);
            others.add(WORKERS.submit(() -> w.multiply(x, rows, y, from, to)));
        }
        w.multiply(x, rows, y, 0, Math.min(w.out(), tiles / parts * tile));
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the CPU projection ran", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("the CPU projection failed", e.getCause());
            }
        }
    }
}
