package dev.rollout.trainer.cli;

import dev.rollout.trainer.StepRecord;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The numbers the demo ends with: reward at start and end, steps, tokens, throughput, weight syncs. */
final class DemoSummary {
    private long tokens;
    private double generateSeconds;
    private double syncSeconds;
    private int syncs;
    private long syncBytes;
    private boolean async; // generation ran beside training: time/generate is the trainer's wait, not generation time

    void add(StepRecord r) {
        tokens += r.generatedTokens();
        generateSeconds += r.metrics().getOrDefault("time/generate", 0.0);
        syncSeconds += r.metrics().getOrDefault("time/sync", 0.0);
        syncs++;
        syncBytes += r.publishedBytes();
        async |= r.metrics().containsKey("staleness/max");
    }

    /** Mean reward over the first and the last tenth of the steps (at least one step each). */
    static double[] startAndEnd(List<TrainingPlot.Point> points) {
        int n = points.size();
        int k = Math.max(1, n / 10);
        double first = 0;
        double last = 0;
        for (int i = 0; i < k; i++) {
            first += points.get(i).reward();
            last += points.get(n - 1 - i).reward();
        }
        return new double[] {first / k, last / k};
    }

    String render(List<TrainingPlot.Point> points, Path checkpoint, Path dir, double seconds, int serverExit) {
        StringBuilder b = new StringBuilder("Summary\n");
        if (!points.isEmpty()) {
            double[] se = startAndEnd(points);
            b.append(String.format(Locale.ROOT, "  reward            %.3f (first 10%% of steps) -> %.3f (last 10%%), %+.3f%n",
                    se[0], se[1], se[1] - se[0]));
        }
        b.append(String.format(Locale.ROOT, "  steps             %d in %.0f s%n", points.size(), seconds));
        if (async) {
            b.append(String.format(Locale.ROOT, "  tokens generated  %,d at %.0f tokens/s of wall time (async: generated while training)%n",
                    tokens, tokens / Math.max(seconds, 1e-9)));
        } else {
            b.append(String.format(Locale.ROOT, "  tokens generated  %,d at %.0f tokens/s while generating%n", tokens,
                    tokens / Math.max(generateSeconds, 1e-9)));
        }
        b.append(String.format(Locale.ROOT, "  weight syncs      %d, mean %.1f ms, %.1f MB each%n", syncs,
                syncs == 0 ? 0 : 1000 * syncSeconds / syncs, syncs == 0 ? 0 : syncBytes / 1e6 / syncs));
        b.append("  server            stopped, exit code ").append(serverExit).append('\n');
        b.append("  run folder        ").append(dir).append('\n');
        b.append("    metrics.jsonl   one line of TRL's metrics per step\n");
        b.append("    reward.png      reward and throughput over steps\n");
        b.append("    samples.md      greedy completions before and after GRPO\n");
        boolean adapter = java.nio.file.Files.isRegularFile(checkpoint.resolve(dev.rollout.lora.PeftAdapterFiles.CONFIG_FILE));
        b.append("    ").append(dir.relativize(checkpoint)).append(adapter
                ? "  the final LoRA adapter (PEFT layout), the merged policy in merged/\n"
                : "  the final policy (Hugging Face layout)\n");
        return b.toString();
    }
}
