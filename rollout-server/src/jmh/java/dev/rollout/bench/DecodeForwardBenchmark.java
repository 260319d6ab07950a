package dev.rollout.bench;

import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.AttentionBackend;
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
 * One decode forward of the {@code 30m} preset at batch 32, context 192: the model runner's tensor work for a pure
 * decode step ({@link DecodeHarness}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx3g")
public class DecodeForwardBenchmark {
    @Param("30m")
    String model;

    @Param("32")
    int batch;

    @Param("192")
    int context;

    private BenchModel loaded;
    private DecodeHarness harness;

    @Setup
    public void setUp() {
        // Loaded on another thread than the one JMH measures on, as the engine's steps run apart from the loading.
        loaded = FreshThread.call("load", () -> BenchModel.load(model, 0, ai.djl.Device.cpu()));
        JniUtils.setGradMode(false);
        // A short engine run first: until one has run in the process, decode steps measured 5-15x slower (see
        // Roofline's warm-up); JMH's warm-up iterations alone did not clear it.
        Roofline.engineDecodeStep(loaded.model(), batch, context, AttentionBackend.AUTO);
        harness = new DecodeHarness(loaded.model(), batch, context, 16, loaded.model().weights().embed().getManager(),
                AttentionBackend.AUTO);
    }

    @Benchmark
    public float decodeStep() {
        // Grad mode is per thread, and JMH may measure on another thread than the one that ran the setup.
        JniUtils.setGradMode(false);
        return harness.step();
    }

    @TearDown
    public void tearDown() {
        harness.close();
        loaded.close();
    }
}
