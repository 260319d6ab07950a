package dev.rollout.trainer.bench;

import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.StepRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * The measured part of one run: the steps after the warm-up, from the end of the last warm-up step to the end of the
 * last measured step, and the server's busy engine time over the same span.
 */
final class RunWindow {
    private final long startNanos;
    private final double serverBusyAtStart;
    private final double trainerCpuAtStart;
    private final double serverCpuAtStart;
    private long endNanos;
    private int steps;
    private double waitSeconds;
    private double trainSeconds;
    private double syncSeconds;
    private long generatedTokens;
    private double stalenessMax;
    private final List<Integer> lengths = new ArrayList<>();

    /** @param trainerCpuAtStart, serverCpuAtStart the two processes' CPU seconds so far (see {@link ProcessCpuTime}) */
    RunWindow(long startNanos, double serverBusyAtStart, double trainerCpuAtStart, double serverCpuAtStart) {
        this.startNanos = startNanos;
        this.endNanos = startNanos;
        this.serverBusyAtStart = serverBusyAtStart;
        this.trainerCpuAtStart = trainerCpuAtStart;
        this.serverCpuAtStart = serverCpuAtStart;
    }

    void add(StepRecord r, long nowNanos) {
        endNanos = nowNanos;
        steps++;
        // time/generate is the trainer's wait for its batch in both modes (in async it equals time/wait_for_rollouts)
        waitSeconds += r.metrics().getOrDefault("time/generate", 0.0);
        trainSeconds += r.metrics().getOrDefault("time/train", 0.0);
        syncSeconds += r.metrics().getOrDefault("time/sync", 0.0);
        generatedTokens += r.generatedTokens();
        stalenessMax = Math.max(stalenessMax, r.metrics().getOrDefault("staleness/max", 0.0));
        for (Completion c : r.completions()) {
            lengths.add(c.getTokenIdsCount());
        }
    }

    List<Integer> lengths() {
        return lengths;
    }

    double seconds() {
        return (endNanos - startNanos) / 1e9;
    }

    BenchResult result(BenchRunSpec spec, double serverBusyAtEnd, double trainerCpuAtEnd, double serverCpuAtEnd,
                       double rewardFirst, double rewardLast) {
        double wall = seconds();
        double busy = serverBusyAtEnd - serverBusyAtStart;
        return new BenchResult(spec.name(), spec.mode(), spec.maxStaleness(), spec.inflightWeightUpdate(), steps, wall,
                wall > 0 ? steps * 60.0 / wall : Double.NaN,
                wall > 0 ? generatedTokens / wall : Double.NaN,
                wall > 0 ? Math.min(1, waitSeconds / wall) : Double.NaN,
                wall > 0 ? Math.max(0, 1 - busy / wall) : Double.NaN,
                stalenessMax, rewardFirst, rewardLast,
                steps > 0 ? trainSeconds / steps : Double.NaN, steps > 0 ? syncSeconds / steps : Double.NaN,
                steps > 0 ? (trainerCpuAtEnd - trainerCpuAtStart) / steps : Double.NaN,
                steps > 0 ? (serverCpuAtEnd - serverCpuAtStart) / steps : Double.NaN,
                LengthStats.of(lengths));
    }
}
