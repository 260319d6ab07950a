package dev.rollout.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One continuous-batching step's bookkeeping with 256 sequences decoding: schedule, mark the step's tokens computed,
 * append each sequence's sampled token, and finish sequences that reached their length, replacing them with new
 * ones (whose prefills then join the next steps), so the benchmark stays in steady state. Everything the engine
 * thread does per step except the forward and the sampler.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SchedulerStepBenchmark {
    private static final int SEQUENCES = 256;
    private static final int PROMPT = 120;
    private static final int MAX_TOKENS = 128;

    private BlockManager blocks;
    private ContinuousScheduler scheduler;
    private long nextId;
    private int[] prompt;

    @Setup(Level.Iteration)
    public void setUp() {
        blocks = new BlockManager(SEQUENCES * ((PROMPT + MAX_TOKENS) / 16 + 2), 16);
        scheduler = new ContinuousScheduler(blocks, new StopConditions(List.of(), Integer.MAX_VALUE), 2048, SEQUENCES);
        prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = 3 + i;
        }
        for (int i = 0; i < SEQUENCES; i++) {
            scheduler.add(List.of(newSequence()));
        }
        // Run until every sequence is past its prefill: the steady state is one decode token each.
        for (int i = 0; i < 64 && scheduler.numWaiting() > 0; i++) {
            step();
        }
    }

    private Sequence newSequence() {
        long id = nextId++;
        // Staggered lengths, so that a few sequences finish (and are replaced) every step.
        int length = 1 + (int) (id * 37 % MAX_TOKENS);
        return new Sequence(id, 0, 0, prompt, SamplingParams.defaults(length), id, null);
    }

    @Benchmark
    public int step() {
        ScheduledBatch batch = scheduler.schedule();
        List<Sequence> done = new ArrayList<>();
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            Sequence seq = c.sequence();
            blocks.markComputed(seq, c.numTokens());
            if (c.lastRowSampled()) {
                seq.appendToken(7, -1f);
                if (seq.numGeneratedTokens() >= seq.params.maxTokens()) {
                    done.add(seq);
                }
            }
        }
        for (Sequence seq : done) {
            scheduler.finish(seq, FinishReason.LENGTH);
            scheduler.add(List.of(newSequence()));
        }
        return batch.chunks().size();
    }
}
