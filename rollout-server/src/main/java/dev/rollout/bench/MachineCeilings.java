package dev.rollout.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * What this machine can do through the same tensor library the model uses: fp32 GEMM rate (an n×n by n×n matmul),
 * memory read bandwidth (summing a tensor far larger than the caches), copy bandwidth, and the cost of one tiny op
 * (pure dispatch overhead). Each figure is the best of several trials, as a ceiling should be.
 */
record MachineCeilings(int gemmSize, double gemmFlopsPerSecond, double readBytesPerSecond, double copyBytesPerSecond,
                       double smallOpSeconds) {

    static final int DEFAULT_GEMM_SIZE = 2048;
    private static final long STREAM_BYTES = 256L << 20;
    private static final int TRIALS = 5;

    static MachineCeilings measure(NDManager parent, int gemmSize) {
        try (NDManager m = parent.newSubManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(gemmSize, gemmSize));
            NDArray b = m.randomUniform(-1, 1, new Shape(gemmSize, gemmSize));
            double gemm = best(() -> a.matMul(b).close());
            NDArray big = m.ones(new Shape(STREAM_BYTES / 4), DataType.FLOAT32);
            double read = best(() -> big.sum().close());
            double copy = best(() -> big.duplicate().close());
            NDArray one = m.create(new float[] {1f});
            NDArray other = m.create(new float[] {2f});
            int ops = 2000;
            double small = best(() -> {
                for (int i = 0; i < ops; i++) {
                    one.add(other).close();
                }
            }) / ops;
            return new MachineCeilings(gemmSize, 2.0 * gemmSize * gemmSize * gemmSize / gemm, STREAM_BYTES / read,
                    2.0 * STREAM_BYTES / copy, small);
        }
    }

    private static double best(Runnable work) {
        work.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < TRIALS; i++) {
            long start = System.nanoTime();
            work.run();
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        return best;
    }
}
