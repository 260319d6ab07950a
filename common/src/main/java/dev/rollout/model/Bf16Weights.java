package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The bf16 serving mode's copy of a model's projections (fused q/k/v, o, fused gate/up, down) and LM head, and the
 * multiply that decode steps of up to {@link #MAX_ROWS} rows run over it ({@link Bf16Matrix}) instead of libtorch's
 * fp32 GEMM. Larger steps (prefill, large decode batches) stay on libtorch with the fp32 tensors, which
 * {@link #roundInPlace} has rounded to the same bf16 values, so both paths compute with the same weights.
 *
 * <p>The outputs are split over as many threads as libtorch may use ({@link TorchThreads#decide()}), the calling
 * thread taking the first part: the kernel runs on the cores libtorch would have used, one after the other with it.
 */
final class Bf16Weights {
    /** Up to this many rows a step's projections run here; beyond, libtorch's GEMM is at least as fast (docs/benchmarks.md). */
    static final int MAX_ROWS = 8;
    /** Below this many multiply-adds the hand-off to another thread costs more than it saves. */
    private static final long SPLIT_WORK = 1L << 17;

    private static final int THREADS = TorchThreads.decide();
    private static final ExecutorService WORKERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "rollout-bf16-matmul");
        t.setDaemon(true);
        return t;
    });

    record Layer(Bf16Matrix qkv, Bf16Matrix o, Bf16Matrix gateUp, Bf16Matrix down) {}

    private final ModelWeights source;
    private final List<Layer> layers;
    private final Bf16Matrix lmHead;
    private final java.util.concurrent.atomic.LongAdder forwards = new java.util.concurrent.atomic.LongAdder();

    private Bf16Weights(ModelWeights source, List<Layer> layers, Bf16Matrix lmHead) {
        this.source = source;
        this.layers = layers;
        this.lmHead = lmHead;
    }

    /**
     * Rounds the projection and LM-head tensors of {@code w} (the embedding too when the head is tied to it) to bf16
     * in place, then makes their bf16 copy. The tensors must be contiguous fp32 on the CPU.
     */
    static Bf16Weights roundInPlace(ModelWeights w) {
        List<Layer> layers = new ArrayList<>();
        for (ModelWeights.Layer l : w.layers()) {
            layers.add(new Layer(round(l.qkv()), round(l.o()), round(l.gateUp()), round(l.down())));
        }
        return new Bf16Weights(w, List.copyOf(layers), round(w.lmHead()));
    }

    private static Bf16Matrix round(NDArray weight) {
        if (!"cpu".equals(weight.getDevice().getDeviceType())) {
            throw new IllegalArgumentException("bf16 serving runs on the CPU; a weight is on " + weight.getDevice());
        }
        Bf16Matrix m = Bf16Matrix.of(weight);
        FloatBuffer values = weight.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int o = 0; o < m.out(); o++) {
            for (int k = 0; k < m.in(); k++) {
                values.put(o * m.in() + k, m.get(o, k));
            }
        }
        return m;
    }

    /** Whether these are the bf16 copy of {@code w}. */
    boolean copies(ModelWeights w) {
        return source == w;
    }

    /** Counts a forward that ran its projections here. */
    void countForward() {
        forwards.increment();
    }

    /** Forwards that ran their projections here so far. */
    long forwards() {
        return forwards.sum();
    }

    Layer layer(int i) {
        return layers.get(i);
    }

    Bf16Matrix lmHead() {
        return lmHead;
    }

    /** Off-heap bytes of the copy. */
    long bytes() {
        long n = lmHead.bytes();
        for (Layer l : layers) {
            n += l.qkv().bytes() + l.o().bytes() + l.gateUp().bytes() + l.down().bytes();
        }
        return n;
    }

    /** Whether a step of {@code rows} rows runs here: few enough, and no autograd recording (no backward here). */
    static boolean suits(long rows) {
        return rows <= MAX_ROWS && !JniUtils.isGradMode();
    }

    /** {@code x [rows, in]} times the weight: {@code [rows, out]} fp32, on the manager of {@code x}. */
    static NDArray apply(Bf16Matrix w, NDArray x) {
        int rows = Math.toIntExact(x.getShape().get(0));
        float[] in = x.toFloatArray();
        float[] y = new float[rows * w.out()];
        multiply(w, in, rows, y, (long) rows * w.in() * w.out() < SPLIT_WORK ? 1 : THREADS);
        return x.getManager().create(y, new Shape(rows, w.out()));
    }

    /** {@code y = x · Wᵀ} with the outputs split in up to {@code threads} parts, the first on the calling thread. */
    static void multiply(Bf16Matrix w, float[] x, int rows, float[] y, int threads) {
        int tile = Bf16Matrix.OUT_TILE;
        int tiles = (w.out() + tile - 1) / tile;
        int parts = Math.max(1, Math.min(threads, tiles));
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
                throw new IllegalStateException("interrupted while a bf16 projection ran", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("a bf16 projection failed", e.getCause());
            }
        }
    }
}
