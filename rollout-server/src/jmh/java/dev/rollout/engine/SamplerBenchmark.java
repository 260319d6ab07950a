package dev.rollout.engine;

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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One draw from one row of logits: what the engine pays per sampling row and step, outside the forward. Vocabularies
 * of the {@code 30m} preset (8,192) and of SmolLM / {@code 135m} (49,152); temperature alone (RL's usual setting),
 * with top-p, and raw log-probs (a second pass over the row).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SamplerBenchmark {
    @Param({"8192", "49152"})
    int vocab;

    @Param({"temperature", "top_p", "raw"})
    String mode;

    private final Sampler sampler = new Sampler();
    private final SplittableRandom rng = new SplittableRandom(3);
    private float[] logits;
    private SamplingParams params;

    @Setup
    public void setUp() {
        SplittableRandom init = new SplittableRandom(11);
        logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (3 * init.nextGaussian());
        }
        SamplingParams p = SamplingParams.defaults(16).withTemperature(0.9f);
        params = switch (mode) {
            case "top_p" -> p.withTopP(0.9f);
            case "raw" -> p.withLogprobsMode(SamplingParams.LogprobsMode.RAW);
            default -> p;
        };
    }

    @Benchmark
    public Sampler.Sample draw() {
        return sampler.sample(logits, 0, vocab, params, rng);
    }
}
