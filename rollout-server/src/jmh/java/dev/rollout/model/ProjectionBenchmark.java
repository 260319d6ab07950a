package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Every projection of one {@code 30m} decode step (8 layers of q/k/v, o, gate/up and down, then the LM head; distinct
 * weights, so they stream from memory as in a real step) at {@code rows} rows, through libtorch's matmul
 * ({@code x.matMul(w.transpose())}, what {@link CausalLM} calls) or the Java kernel ({@link CpuLinear}). In package
 * {@code dev.rollout.model} to reach the package-private kernel.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "--add-modules", "jdk.incubator.vector"})
public class ProjectionBenchmark {
    private static final int[][] LAYER = {{768, 512}, {512, 512}, {3328, 512}, {512, 1664}}; // [out, in]
    private static final int LAYERS = 8;

    @Param({"1", "8", "16", "32", "64"})
    int rows;

    @Param({"libtorch", "java"})
    String kernel;

    private NDManager manager;
    private NDArray[] weights;
    private PackedMatrix[] packed;
    private NDArray[] inputs;

    @Setup
    public void setUp() {
        TorchThreads.configure();
        manager = NDManager.newBaseManager();
        int n = LAYERS * LAYER.length + 1;
        weights = new NDArray[n];
        packed = new PackedMatrix[n];
        inputs = new NDArray[n];
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < n; i++) {
            int out = i == n - 1 ? 8192 : LAYER[i % LAYER.length][0];
            int in = i == n - 1 ? 512 : LAYER[i % LAYER.length][1];
            float[] w = new float[out * in];
            for (int j = 0; j < w.length; j++) {
                w[j] = (float) (rng.nextDouble() - 0.5);
            }
            weights[i] = manager.create(w, new Shape(out, in));
            packed[i] = PackedMatrix.ofRowMajor(w, out, in);
            inputs[i] = manager.randomUniform(-1, 1, new Shape(rows, in));
        }
    }

    @Benchmark
    public float step() {
        float sum = 0;
        try (NDManager step = manager.newSubManager()) {
            for (int i = 0; i < weights.length; i++) {
                NDArray y = kernel.equals("java") ? CpuLinear.apply(packed[i], inputs[i])
                        : inputs[i].matMul(weights[i].transpose());
                y.attach(step);
                sum += y.toFloatArray()[0];
            }
        }
        return sum;
    }

    @TearDown
    public void tearDown() {
        manager.close();
    }
}
