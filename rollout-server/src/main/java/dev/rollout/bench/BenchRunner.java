package dev.rollout.bench;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs a whole benchmark: the machine's ceilings, the roofline and the scaling table, then every scenario's two
 * comparisons.
 */
final class BenchRunner {
    private BenchRunner() {}

    static BenchResult run(BenchSettings s, Consumer<String> log) throws IOException {
        double loadBefore = load();
        MachineCeilings ceilings = null;
        List<RooflinePoint> roofline = List.of();
        String rooflineName = null;
        ScalingTable scaling = null;
        int positions = s.scaling().skipped() ? 0 : s.scaling().longestContext();
        try (BenchModel m = BenchModel.load(s.model(), s.seed(), s.device(), positions)) {
            if (!s.rooflineBatches().isEmpty() || !s.scaling().skipped()) {
                try (BenchModel r = s.rooflineModel().equals(s.model()) ? null
                        : BenchModel.load(s.rooflineModel(), s.seed(), s.device(), positions)) {
                    BenchModel subject = r == null ? m : r;
                    rooflineName = subject.name();
                    NDManager parent = subject.model().weights().embed().getManager();
                    ceilings = FreshThread.call("ceilings", () -> MachineCeilings.measure(parent, s.gemmSize()));
                    log.accept(String.format("ceilings: fp32 GEMM %.1f GFLOP/s (%d^3), memory read %.1f GB/s, copy %.1f GB/s,"
                            + " small op %.1f us", ceilings.gemmFlopsPerSecond() / 1e9, ceilings.gemmSize(),
                            ceilings.readBytesPerSecond() / 1e9, ceilings.copyBytesPerSecond() / 1e9,
                            ceilings.smallOpSeconds() * 1e6));
                    if (!s.rooflineBatches().isEmpty()) {
                        log.accept("roofline on " + rooflineName + ":");
                        roofline = Roofline.measure(subject.model(), ceilings, s.rooflineBatches(), s.rooflineContext(),
                                s.rooflineSteps(), s.attentionBackend(), log);
                    }
                    if (!s.scaling().skipped()) {
                        log.accept("scaling on " + rooflineName + ":");
                        scaling = ScalingBench.measure(rooflineName, subject.model(), ceilings, s.scaling(), s.blockSize(),
                                s.attentionBackend(), log);
                    }
                }
            }
            ScenarioBench bench = new ScenarioBench(m.model(), s, log);
            List<ScenarioResult> asGenerate = new ArrayList<>();
            List<ScenarioResult> equalMemory = new ArrayList<>();
            for (int generations : s.generations()) {
                Workload w = Workload.generate(s.prompts(), generations, s.maxTokens(), m.model().config().vocabSize(),
                        m.model().config().maxPositionEmbeddings() - s.maxTokens(), s.seed() + generations);
                log.accept(String.format("scenario: %d prompts x %d generations = %d sequences, %d prompt tokens, %d output"
                        + " tokens, longest prompt %d, max tokens %d", s.prompts(), generations, w.numSequences(),
                        w.promptTokens(), w.outputTokens(), w.longestPrompt(), s.maxTokens()));
                ScenarioBench.Outcome o = bench.run(w);
                asGenerate.add(o.asGenerate());
                equalMemory.add(o.equalMemory());
            }
            return new BenchResult(s, m.name(), m.model().config().parameterCount(),
                    Runtime.getRuntime().availableProcessors(), loadBefore, load(), ProcessMemory.resettable(), ceilings,
                    rooflineName, roofline, asGenerate, equalMemory, scaling);
        }
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
