package dev.rollout.bench;

import java.util.List;
import java.util.Locale;

/** The results as Markdown tables, shaped like TRL's continuous-batching table, plus the roofline. */
final class BenchTables {
    private BenchTables() {}

    static String markdown(BenchResult r) {
        StringBuilder md = new StringBuilder();
        BenchSettings s = r.settings();
        String scenarios = r.scenarios().isEmpty() ? "" : String.format(Locale.ROOT, " %d prompts, max %d new tokens, %d reps,",
                s.prompts(), s.maxTokens(), s.reps());
        md.append(String.format(Locale.ROOT, "Model `%s` (%.1fM parameters),%s %d cores, load average %.2f before / %.2f"
                + " after.%n%n", r.modelName(), r.parameters() / 1e6, scenarios, r.cores(), r.loadBefore(), r.loadAfter()));
        if (!r.scenarios().isEmpty()) {
            md.append("#### Comparison 1: as `generate()` does it (static = every sequence in one batch, dense KV for all)\n\n");
            comparison(md, r.scenarios());
            md.append(String.format(Locale.ROOT, "%n#### Comparison 2: equal KV memory (both get the cache of %d sequences at"
                    + " longest prompt + max tokens)%n%n", s.equalMemoryBatch()));
            comparison(md, r.equalMemoryScenarios());
            md.append("\n#### Details\n\n");
            details(md, "1", r.scenarios());
            details(md, "2", r.equalMemoryScenarios());
        }
        if (!r.roofline().isEmpty()) {
            md.append("\n");
            roofline(md, r);
        }
        if (r.scaling() != null) {
            md.append("\n").append(ScalingTables.markdown(r.scaling()));
        }
        return md.toString();
    }

    private static void comparison(StringBuilder md, List<ScenarioResult> results) {
        md.append("| Generations per prompt | Sequences | Static wall (s) | Continuous wall (s) | Static tok/s |"
                + " Continuous tok/s | Speedup | Static peak KV | Continuous peak KV | KV saved |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ScenarioResult sr : results) {
            RunSummary st = sr.staticBatch();
            RunSummary co = sr.continuous();
            md.append(String.format(Locale.ROOT, "| %d | %d | %.2f ± %.2f | %.2f ± %.2f | %.0f | %.0f | **%.2f×** | %s | %s |"
                    + " %s (%.2f×) |%n", sr.generations(), sr.sequences(), st.wallSecondsMean(), st.wallSecondsStd(),
                    co.wallSecondsMean(), co.wallSecondsStd(), st.tokensPerSecond(), co.tokensPerSecond(), sr.speedup(),
                    mib(st.peakKvBytes()), mib(co.peakKvBytes()), mib(st.peakKvBytes() - co.peakKvBytes()), sr.kvRatio()));
        }
    }

    private static void details(StringBuilder md, String comparison, List<ScenarioResult> results) {
        md.append("| Comparison | Generations | Scheduler | Output tokens | Peak RSS | KV cache given | Prompt tokens"
                + " computed / total | Prefix-cache hit tokens | Preemptions | Steps |\n");
        md.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ScenarioResult sr : results) {
            for (RunSummary x : List.of(sr.staticBatch(), sr.continuous())) {
                md.append(String.format(Locale.ROOT, "| %s | %d | %s | %d | %s | %s | %d / %d | %d | %d | %d |%n", comparison,
                        sr.generations(), x.scheduler().label(), x.outputTokens(), mib(x.peakRssBytes()),
                        mib(x.kvCacheBytes()), x.computedPromptTokens(), sr.promptTokens(), x.prefixCacheHitTokens(),
                        x.preemptions(), x.steps()));
            }
        }
    }

    private static void roofline(StringBuilder md, BenchResult r) {
        MachineCeilings c = r.ceilings();
        md.append(String.format(Locale.ROOT, "#### Roofline: decode on `%s`%n%nCeilings measured through DJL at start: fp32"
                + " GEMM %.1f GFLOP/s (%d³), memory read %.1f GB/s, copy %.1f GB/s, one small op %.1f µs.%n%n",
                r.rooflineModelName(), c.gemmFlopsPerSecond() / 1e9, c.gemmSize(), c.readBytesPerSecond() / 1e9,
                c.copyBytesPerSecond() / 1e9, c.smallOpSeconds() * 1e6));
        md.append("| Batch | Context | Engine step (ms) | Model step (ms) | In tensor ops (ms) | In Java kernel (ms) | Floor (ms) |"
                + " Step / floor | Outside tensor math | Decode tok/s |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RooflinePoint p : r.roofline()) {
            md.append(String.format(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f× | %.0f%% | %.0f |%n",
                    p.batch(), p.context(), p.engineStepSeconds() * 1e3, p.modelStepSeconds() * 1e3, p.opSeconds() * 1e3,
                    p.kernelSeconds() * 1e3,
                    p.floorSeconds() * 1e3, p.stepOverFloor(), 100 * p.outsideTensorMathShare(), p.tokensPerSecond()));
        }
        md.append("\nModel step's time per operator called from Java (ms per step, top ").append(BenchJson.TOP_OPS)
                .append("):\n\n| Batch | Operators |\n|---:|---|\n");
        for (RooflinePoint p : r.roofline()) {
            StringBuilder ops = new StringBuilder();
            p.topOpSeconds().entrySet().stream().limit(BenchJson.TOP_OPS).forEach(e -> ops.append(ops.length() == 0 ? "" : ", ")
                    .append(String.format(Locale.ROOT, "`%s` %.2f", e.getKey(), e.getValue() * 1e3)));
            md.append("| ").append(p.batch()).append(" | ").append(ops).append(" |\n");
        }
    }

    static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
