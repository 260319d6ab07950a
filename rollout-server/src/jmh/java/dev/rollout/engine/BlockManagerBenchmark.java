package dev.rollout.engine;

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
 * Block allocation and free: a sequence of {@code tokens} tokens takes its blocks and gives them back, as admission
 * and finishing do. In package {@code dev.rollout.engine} to reach the package-private block manager.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BlockManagerBenchmark {
    @Param({"16", "320"})
    int tokens;

    private BlockManager blocks;
    private Sequence sequence;

    @Setup
    public void setUp() {
        blocks = new BlockManager(4096, 16);
        int[] prompt = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            prompt[i] = 3 + i % 500;
        }
        sequence = new Sequence(0, 0, 0, prompt, SamplingParams.defaults(16), 1, null);
    }

    @Benchmark
    public int allocateAndFree() {
        blocks.allocate(sequence, BlockManager.CachedPrefix.NONE, tokens);
        int held = sequence.numBlocks();
        blocks.free(sequence);
        return held;
    }

    @Benchmark
    public int findCachedPrefixAllocateAndFree() {
        BlockManager.CachedPrefix prefix = blocks.findCachedPrefix(sequence);
        blocks.allocate(sequence, prefix, tokens);
        int held = sequence.numBlocks();
        blocks.free(sequence);
        return held;
    }
}
