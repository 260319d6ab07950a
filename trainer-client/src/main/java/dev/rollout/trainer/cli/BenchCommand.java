package dev.rollout.trainer.cli;

import dev.rollout.model.TorchThreads;
import dev.rollout.trainer.bench.BenchReport;
import dev.rollout.trainer.bench.BenchResult;
import dev.rollout.trainer.bench.BenchRunSpec;
import dev.rollout.trainer.bench.RlBench;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code trainer bench}: sync against async training with the trainer in the loop. Each run starts its own rollout
 * server process (with the run's {@code --inflight-weight-update}), trains GRPO against it for a fixed time after a
 * warm-up, and the bench writes the runs' steps per minute, throughput and idle fractions side by side.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Measure training steps per minute in sync and async mode, the trainer in the loop. Runs, one after "
                + "the other, each with its own rollout server process: sync; async at max_staleness 1, 2 and 4 with the "
                + "server's --inflight-weight-update recompute; async at 2 with keep.",
                "Workload: 4 prompts x 8 generations per step (--prompts, --generations), a LoRA adapter trained (--no-lora: "
                + "every weight), completions ending on a stop token with probability about 1/64 per token (geometric "
                + "lengths, capped at 256), reward: closeness of the length to 64 tokens.",
                "The server is pinned to core 0 and the trainer to core 1 with taskset (the GPU node and the trainer node), "
                + "when taskset and two cores are there.",
                "Writes rl-bench.json, rl-bench.md and rl-bench.png to --out, and each run's metrics.jsonl and server.log "
                + "in a folder of its own."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the results (made if missing).")
    Path out;

    @Option(names = "--model", defaultValue = "30m", paramLabel = "tiny|30m|135m|DIR",
            description = "The model trained and served: a preset (random weights) or a checkpoint. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--seconds-per-run", defaultValue = "45",
            description = "Measured seconds of each run, after the warm-up. Default: ${DEFAULT-VALUE}.")
    double secondsPerRun;

    @Option(names = "--warmup-steps", defaultValue = "1",
            description = "Steps of each run before measuring (not counted). Default: ${DEFAULT-VALUE}.")
    int warmupSteps;

    @Option(names = "--runs", split = ",", paramLabel = "RUN",
            description = "Runs to do, comma-separated, from: sync, async-s1, async-s2, async-s4, async-s2-keep. Default: all.")
    List<String> runs = new ArrayList<>();

    @Option(names = "--prompts", defaultValue = "4",
            description = "Prompts per step (the generation batch is prompts x generations). Default: ${DEFAULT-VALUE}.")
    int prompts;

    @Option(names = "--generations", defaultValue = "8",
            description = "Completions per prompt (GRPO's num_generations). Default: ${DEFAULT-VALUE}.")
    int generations;

    @Option(names = "--max-completion-length", defaultValue = "256",
            description = "Longest completion in tokens (the cap of the long tail). Default: ${DEFAULT-VALUE}.")
    int maxCompletionLength;

    @Option(names = "--lora", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Train a LoRA adapter (r 16 on all linear layers, lr 1e-4; only the adapter is pushed) rather "
                    + "than every weight (--no-lora, lr 5e-5). Default: ${DEFAULT-VALUE}.")
    boolean lora;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of prompts and sampling. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--pin", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Pin the server and the trainer to cores 0 and 1 with taskset (--no-pin: leave them unpinned). "
                    + "Default: ${DEFAULT-VALUE}.")
    boolean pin;

    @Override
    public Integer call() throws Exception {
        List<BenchRunSpec> selected = validate();
        // one libtorch thread on each side: each stands for one node, on its own core
        System.setProperty(TorchThreads.PROPERTY, System.getProperty(TorchThreads.PROPERTY, "1"));
        TorchThreads.configure();
        PrintStream o = System.out;
        Path dir = out.toAbsolutePath();
        Files.createDirectories(dir);
        double loadStart = loadAverage();
        RlBench bench = RlBench.prepare(dir, model,
                new RlBench.Workload(prompts, generations, maxCompletionLength, lora), seed, pin, o);
        o.println("bench: " + selected.size() + " run(s) of " + secondsPerRun + " s after " + warmupSteps
                + " warm-up step(s); " + bench.pinning() + "; load average " + String.format("%.2f", loadStart));
        List<BenchResult> results = new ArrayList<>();
        for (BenchRunSpec s : selected) {
            results.add(bench.run(s, warmupSteps, secondsPerRun));
        }
        double loadEnd = loadAverage();
        BenchReport.write(dir, new BenchReport.Setting(model, bench.workload(), bench.pinning(), loadStart, loadEnd,
                secondsPerRun, warmupSteps), results);
        o.println();
        o.print(Files.readString(dir.resolve(BenchReport.MARKDOWN)));
        o.println("\nwrote " + dir.resolve(BenchReport.JSON) + ", " + BenchReport.MARKDOWN + ", " + BenchReport.PNG);
        return 0;
    }

    private List<BenchRunSpec> validate() {
        if (!(secondsPerRun > 0) || Double.isInfinite(secondsPerRun)) {
            throw new ParameterException(spec.commandLine(), "--seconds-per-run must be a positive number of seconds, got "
                    + secondsPerRun);
        }
        if (warmupSteps < 0) {
            throw new ParameterException(spec.commandLine(), "--warmup-steps must be 0 or more, got " + warmupSteps);
        }
        if (prompts < 1) {
            throw new ParameterException(spec.commandLine(), "--prompts must be at least 1, got " + prompts);
        }
        if (generations < 2) {
            throw new ParameterException(spec.commandLine(), "--generations must be at least 2 (GRPO compares the "
                    + "samples of a prompt), got " + generations);
        }
        if (maxCompletionLength < 1) {
            throw new ParameterException(spec.commandLine(), "--max-completion-length must be at least 1, got "
                    + maxCompletionLength);
        }
        try {
            return runs.isEmpty() ? BenchRunSpec.ALL : BenchRunSpec.select(runs);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--runs: " + e.getMessage());
        }
    }

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
