package dev.rollout.bench;

import dev.rollout.engine.EngineConfig;
import java.util.List;

/**
 * Repeated runs of one scheduler on one workload. Wall time as mean and sample standard deviation; throughput as
 * output tokens over the mean wall time; memory figures as the largest seen in any repetition.
 */
record RunSummary(EngineConfig.SchedulerKind scheduler, int reps, long outputTokens, double wallSecondsMean, double wallSecondsStd,
                  double tokensPerSecond, long peakKvBytes, long kvCacheBytes, long peakRssBytes, long prefixCacheHitTokens,
                  long computedPromptTokens, long preemptions, long steps) {

    static RunSummary of(List<RunResult> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no runs to summarise");
        }
        RunResult first = runs.get(0);
        double mean = runs.stream().mapToDouble(RunResult::wallSeconds).average().orElseThrow();
        double squares = runs.stream().mapToDouble(r -> (r.wallSeconds() - mean) * (r.wallSeconds() - mean)).sum();
        double std = runs.size() > 1 ? Math.sqrt(squares / (runs.size() - 1)) : 0;
        for (RunResult r : runs) {
            if (r.outputTokens() != first.outputTokens()) {
                throw new IllegalStateException("repetitions of one workload generated different token counts: "
                        + first.outputTokens() + " and " + r.outputTokens());
            }
        }
        return new RunSummary(first.scheduler(), runs.size(), first.outputTokens(), mean, std, first.outputTokens() / mean,
                runs.stream().mapToLong(RunResult::peakKvBytes).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::kvCacheBytes).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::peakRssBytes).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::prefixCacheHitTokens).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::computedPromptTokens).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::preemptions).max().orElseThrow(),
                runs.stream().mapToLong(RunResult::steps).max().orElseThrow());
    }
}
