package dev.rollout.bench;

import dev.rollout.engine.EngineConfig;
import dev.rollout.model.CausalLM;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs both comparisons of one scenario, continuous and static interleaved in one process, {@code reps} times, the
 * order alternating each repetition so that drift in the machine's load falls on both alike.
 *
 * <ol>
 *   <li><b>As {@code generate()} does it</b>: static takes every sequence of the scenario as one batch with a dense
 *   cache of batch × (longest prompt + max_tokens); continuous gets a cache of the same capacity (so memory never
 *   limits it, as TRL's half-of-free-memory cache never did) and the engine's default limits; its peak in use is
 *   what it needed.</li>
 *   <li><b>Equal memory</b>: both get the cache of {@code equalMemoryBatch} sequences at longest prompt + max_tokens;
 *   static's batch is those {@code equalMemoryBatch}, continuous admits what fits by actual use.</li>
 * </ol>
 */
final class ScenarioBench {
    /** Results of one scenario: comparison 1 and comparison 2. */
    record Outcome(ScenarioResult asGenerate, ScenarioResult equalMemory) {}

    private final CausalLM model;
    private final BenchSettings settings;
    private final Consumer<String> log;

    ScenarioBench(CausalLM model, BenchSettings settings, Consumer<String> log) {
        this.model = model;
        this.settings = settings;
        this.log = log;
    }

    Outcome run(Workload workload) {
        EngineConfig base = EngineConfig.defaults().withBlockSize(settings.blockSize()).withDevice(settings.device())
                .withAttentionBackend(settings.attentionBackend());
        int perSequence = blocksFor(workload.longestPrompt() + workload.maxTokens());
        int n = workload.numSequences();
        int dense = n * perSequence + EngineRun.GATE_BLOCKS;
        int budget = Math.min(n, settings.equalMemoryBatch()) * perSequence + EngineRun.GATE_BLOCKS;
        EngineConfig continuous1 = base.withNumBlocks(dense);
        EngineConfig static1 = base.withNumBlocks(dense).withMaxNumSeqs(n).withScheduler(EngineConfig.SchedulerKind.STATIC);
        EngineConfig continuous2 = base.withNumBlocks(budget);
        EngineConfig static2 = base.withNumBlocks(budget).withMaxNumSeqs(Math.min(n, settings.equalMemoryBatch()))
                .withScheduler(EngineConfig.SchedulerKind.STATIC);

        if (settings.warmup()) {
            // One untimed pass at a small scale, so the first timed run pays no JIT or allocator warm-up.
            Workload small = Workload.generate(Math.min(2, workload.prompts().size()), Math.min(4, workload.generations()),
                    Math.min(16, workload.maxTokens()), model.config().vocabSize(), workload.longestPrompt(), workload.seed() + 1);
            int blocks = small.numSequences() * blocksFor(small.longestPrompt() + 16) + EngineRun.GATE_BLOCKS;
            EngineRun.run(model, base.withNumBlocks(blocks), small);
        }
        List<RunResult> c1 = new ArrayList<>();
        List<RunResult> s1 = new ArrayList<>();
        List<RunResult> c2 = new ArrayList<>();
        List<RunResult> s2 = new ArrayList<>();
        for (int rep = 0; rep < settings.reps(); rep++) {
            boolean continuousFirst = rep % 2 == 0;
            for (int i = 0; i < 2; i++) {
                if ((i == 0) == continuousFirst) {
                    c1.add(measure("as generate()", rep, continuous1, workload));
                    c2.add(measure("equal memory", rep, continuous2, workload));
                } else {
                    s1.add(measure("as generate()", rep, static1, workload));
                    s2.add(measure("equal memory", rep, static2, workload));
                }
            }
        }
        return new Outcome(result(workload, c1, s1), result(workload, c2, s2));
    }

    private RunResult measure(String comparison, int rep, EngineConfig config, Workload workload) {
        RunResult r = EngineRun.run(model, config, workload);
        log.accept(String.format("  %d generations, %s, rep %d, %s: %.2f s, %.1f tok/s, peak KV %.1f MiB, %d preemptions",
                workload.generations(), comparison, rep + 1, r.scheduler().label(), r.wallSeconds(), r.tokensPerSecond(),
                r.peakKvBytes() / 1048576.0, r.preemptions()));
        if (r.outputTokens() != workload.outputTokens()) {
            throw new IllegalStateException(r.scheduler().label() + " generated " + r.outputTokens() + " tokens where the "
                    + "workload forces " + workload.outputTokens());
        }
        return r;
    }

    private ScenarioResult result(Workload w, List<RunResult> continuous, List<RunResult> staticRuns) {
        return new ScenarioResult(w.generations(), w.numSequences(), w.promptTokens(), w.longestPrompt(),
                RunSummary.of(continuous), RunSummary.of(staticRuns));
    }

    private int blocksFor(int tokens) {
        return (tokens + settings.blockSize() - 1) / settings.blockSize();
    }
}
