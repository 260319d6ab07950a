package dev.rollout.bench;

import java.util.Locale;

/**
 * The scaling table as Markdown: one table per phase, a row per batch size, a column per context, each cell tokens/s
 * and (in parentheses) the step over its floor.
 */
final class ScalingTables {
    private ScalingTables() {}

    static String markdown(ScalingTable t) {
        ScalingSettings s = t.settings();
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "#### Scaling on `%s`: tokens/s (step / floor)%n%n"
                + "Model steps, median of %d; prefill computes %d tokens a step split over the batch (at most the"
                + " context per sequence), ending at the context; cells over a %.1f GiB KV cache are skipped."
                + " Measured in %.0f s.%n", t.modelName(), s.steps(), s.prefillTokenBudget(),
                s.kvLimitBytes() / (double) (1L << 30), t.seconds()));
        for (String phase : new String[] {ScalingBench.DECODE, ScalingBench.PREFILL}) {
            md.append("\n| ").append(phase).append(" | ");
            s.contexts().forEach(c -> md.append("context ").append(c).append(" | "));
            md.append("\n|---:|");
            s.contexts().forEach(c -> md.append("---:|"));
            md.append('\n');
            for (int batch : s.batches()) {
                md.append("| ").append(batch).append(" | ");
                for (int context : s.contexts()) {
                    md.append(cell(t.cell(phase, batch, context))).append(" | ");
                }
                md.append('\n');
            }
        }
        return md.toString();
    }

    private static String cell(ScalingCell c) {
        return c.measured() ? String.format(Locale.ROOT, "%.0f (%.1f×)", c.tokensPerSecond(), c.stepOverFloor())
                : "skipped: " + c.skipped();
    }
}
