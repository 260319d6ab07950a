package dev.rollout.trainer.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.model.TorchThreads;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.server.MetricsServer;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.trainer.Policy;
import dev.rollout.trainer.SupervisedWarmup;
import dev.rollout.trainer.TrainingLoop;
import dev.rollout.trainer.TrainingRun;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.AdditionDataset;
import dev.rollout.trainer.data.PromptRow;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.trainer.rollout.ServerProcess;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code trainer demo}: the whole system on the embedded tiny model. Starts a rollout server as its own process on
 * loopback, teaches the policy the answer format with a short supervised warm-up, then trains GRPO to add two digits
 * ({@link dev.rollout.trainer.data.AdditionDataset}) against the server over real gRPC, pushing the weights with
 * SyncWeights after every step.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Run RL fine-tuning end to end on the embedded tiny model: a rollout server process, a short "
                + "supervised warm-up, then GRPO on single-digit sums (reward 1 for the right answer). Writes metrics.jsonl, "
                + "reward.png, samples.md and the final checkpoint to the run folder.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--max-steps", defaultValue = "800", description = "GRPO steps. Default: ${DEFAULT-VALUE}.")
    int maxSteps;

    @Option(names = "--minutes", defaultValue = "3",
            description = "Stop GRPO early when the whole demo has run this long. Default: ${DEFAULT-VALUE}.")
    double minutes;

    @Option(names = "--warmup-steps", defaultValue = "100", description = "Supervised warm-up steps. Default: ${DEFAULT-VALUE}.")
    int warmupSteps;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of prompts, sampling and warm-up. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "Run folder. Default: runs/demo-<date>-<time>.")
    Path out;

    @Option(names = "--port", defaultValue = "50051", description = "The rollout server's gRPC port. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--metrics-port", defaultValue = "9400",
            description = "The rollout server's /metrics port. Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--lora", description = "Train a LoRA adapter instead of every weight, with the settings that learn "
            + "in the demo's time: " + LORA_SETTINGS_TEXT + " (--set overrides them).")
    boolean lora;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a key of the demo's training config (as in train --set, e.g. learning_rate=3e-4). Repeatable.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--async", description = "Generate and train at the same time (async_generation: true, max_staleness 4;"
            + " see docs/async.md) instead of one after the other.")
    boolean async;

    @Option(names = "--trainer-metrics-port", defaultValue = "9401",
            description = "The trainer's /metrics port (-1: none). Default: ${DEFAULT-VALUE}.")
    int trainerMetricsPort;

    /**
     * LoRA as users run it on a small model: every linear module, r 16 and alpha 32 (PEFT's and TRL's defaults), and
     * a higher learning rate than the full fine-tune's 4e-4: of 1e-3, 2e-3 and 5e-3 on all-linear targets, 1e-3 gained
     * the most reward in 200 steps; 5e-3 lost reward, and a q/v adapter at 4e-4 learned little (docs/benchmarks.md).
     */
    private static final String LORA_SETTINGS_TEXT = "use_peft=true, lora_target_modules=[all-linear], lora_r=16, "
            + "lora_alpha=32, learning_rate=1e-3";
    static final List<String> LORA_SETTINGS = List.of(LORA_SETTINGS_TEXT.split(", "));

    @Override
    public Integer call() throws Exception {
        // One libtorch thread here and in the server process: they take turns on the same cores (generate, then
        // train), and parallel reductions would make the run differ from one launch to the next.
        System.setProperty(TorchThreads.PROPERTY, System.getProperty(TorchThreads.PROPERTY, "1"));
        TorchThreads.configure();
        long start = System.nanoTime();
        long deadline = start + (long) (minutes * 60e9);
        PrintStream o = System.out;
        Path dir = runFolder();
        Path model = TrainingRun.resolveModel("tiny", dir);
        List<String> settings = new ArrayList<>(lora ? LORA_SETTINGS : List.of());
        if (async) {
            settings.add("async_generation=true");
        }
        settings.addAll(overrides);
        TrainerConfig config = TrainerConfig.parse(config(model, dir), settings);

        o.println("Rollout demo: GRPO on the embedded tiny model (" + String.format(Locale.ROOT, "%,d",
                dev.rollout.tiny.ModelPresets.config("tiny").parameterCount()) + " parameters), run folder " + dir);
        o.println("starting rollout-server on localhost:" + port + " (log: " + dir.resolve("server.log") + ")");
        // 4096 blocks of 16 tokens (128 MiB for this model) hold every sequence of a step many times over; sizing from
        // free memory would take most of the machine, which the trainer shares.
        try (ServerProcess server = ServerProcess.start(List.of("--model", model.toString(), "--port", Integer.toString(port),
                "--metrics-port", Integer.toString(metricsPort), "--num-blocks", "4096"), port, metricsPort,
                dir.resolve("server.log"))) {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            try (MetricsServer trainerMetrics = trainerMetricsPort < 0 ? null : new MetricsServer(registry, trainerMetricsPort);
                 TrainingRun run = new TrainingRun(config, null, registry, Rollouts::create)) {
                o.println("server ready (pid " + server.pid() + "); its metrics: http://localhost:" + metricsPort + "/metrics"
                        + (trainerMetrics != null ? ", the trainer's: http://localhost:" + trainerMetrics.port() + "/metrics" : ""));

                o.printf("warm-up: %d supervised steps teach the answer format (\"3+4=\" -> \"7\" then end of text), so that "
                        + "GRPO starts from answers a reward can tell apart%n", warmupSteps);
                double warmupLoss = warmUp(run);
                o.printf("warm-up done: loss %.3f%n", warmupLoss);
                run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
                List<String[]> before = greedySamples(run, run.source().tokenizer());

                o.println("GRPO: " + config.numGenerations() + " completions for each of "
                        + config.perDeviceTrainBatchSize() / config.numGenerations() + " prompts per step, "
                        + (config.asyncGeneration() ? "generated while the trainer trains (async, max_staleness "
                        + config.maxStaleness() + "), weights pushed every " + config.weightSyncSteps() + " step(s)"
                        : "weights pushed after every step"));
                ProgressLine progress = new ProgressLine(o, maxSteps, Math.max(0, (deadline - System.nanoTime()) / 60e9));
                DemoSummary summary = new DemoSummary();
                run.train(deadline, r -> {
                    summary.add(r);
                    progress.print(r.step(), r.metrics());
                });
                List<String[]> after = greedySamples(run, run.source().tokenizer());
                Path checkpoint = run.save();
                TrainingPlot.write(dir.resolve("reward.png"), "GRPO on the tiny model: digit sums", run.points());
                writeSamples(dir.resolve("samples.md"), before, after);
                int exit = server.stop();
                o.println();
                o.print(summary.render(run.points(), checkpoint, dir, (System.nanoTime() - start) / 1e9, exit));
                Files.writeString(dir.resolve("summary.txt"), summary.render(run.points(), checkpoint, dir,
                        (System.nanoTime() - start) / 1e9, exit));
            }
        }
        return 0;
    }

    private Path runFolder() throws IOException {
        Path dir = out != null ? out
                : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write", ".probe");
            Files.delete(probe);
        } catch (java.nio.file.FileSystemException e) {
            throw new IOException("cannot write to the run folder " + dir.toAbsolutePath() + " (" + e.getReason()
                    + "); choose another with --out DIR", e);
        }
        return dir.toAbsolutePath();
    }

    private String config(Path model, Path dir) {
        return String.join("\n",
                "trainer: grpo",
                "model: '" + model + "'",
                "dataset: " + AdditionDataset.NAME,
                "reward_funcs: [accuracy]",
                "num_generations: 8",
                "per_device_train_batch_size: 64",
                "gradient_accumulation_steps: 1",
                "max_completion_length: 4",
                "temperature: 1.0",
                "learning_rate: 4.0e-4",
                "lr_scheduler_type: constant",
                "beta: 0.0",
                "loss_type: dapo",
                "max_grad_norm: 1.0",
                "max_steps: " + maxSteps,
                "logging_steps: 1",
                "save_steps: 0",
                "save_merged_model: true",
                "seed: " + seed,
                "output_dir: '" + dir + "'",
                "rollout:",
                "  mode: server",
                "  servers: ['localhost:" + port + "']",
                "");
    }

    /**
     * Supervised steps on (prompt, answer + EOS) pairs with their own optimizer; returns the last loss. With LoRA the
     * warm-up trains the base itself (it plays the pretrained model), with the adapter off, then freezes it again.
     */
    private double warmUp(TrainingRun run) {
        Policy policy = run.policy();
        LoraAdapter adapter = policy.model().adapter();
        if (adapter == null) {
            return warmUpSteps(run);
        }
        List<NDArray> base = policy.model().weights().parameters();
        policy.model().setAdapter(null);
        base.forEach(p -> p.setRequiresGradient(true));
        try {
            return warmUpSteps(run);
        } finally {
            base.forEach(p -> p.setRequiresGradient(false));
            policy.model().setAdapter(adapter);
        }
    }

    private double warmUpSteps(TrainingRun run) {
        Policy policy = run.policy();
        Tokenizer tok = run.source().tokenizer();
        int eos = policy.model().config().eosTokenIds().get(0);
        List<PromptRow> rows = AdditionDataset.generate();
        SplittableRandom rng = new SplittableRandom(seed);
        double loss = Double.NaN;
        try (AdamW optimizer = new AdamW(policy.model().weights().parameters(), 0.9, 0.99, 1e-8, 0.0);
             NDManager scope = run.manager().newSubManager()) {
            SupervisedWarmup sft = new SupervisedWarmup(policy, optimizer, 1.0);
            for (int s = 0; s < warmupSteps; s++) {
                List<Policy.Sequence> batch = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    PromptRow row = rows.get(rng.nextInt(rows.size()));
                    int[] answer = tok.encode(row.columns().get("answer").toString(), false);
                    int[] target = java.util.Arrays.copyOf(answer, answer.length + 1);
                    target[answer.length] = eos;
                    batch.add(new Policy.Sequence(tok.encode(row.text(), false), target));
                }
                loss = sft.step(batch, 3e-3, scope);
            }
        }
        return loss;
    }

    private static final String[] SAMPLE_PROMPTS = {"2+3=", "4+4=", "7+1=", "5+6=", "9+8=", "3+9=", "6+0=", "8+7="};

    /** Greedy completions of a fixed set of prompts, as {prompt, expected, completion}. */
    private List<String[]> greedySamples(TrainingRun run, Tokenizer tok) {
        List<Prompt> prompts = new ArrayList<>();
        for (String p : SAMPLE_PROMPTS) {
            prompts.add(Prompt.newBuilder().setText(p).build());
        }
        SamplingParams greedy = SamplingParams.newBuilder().setN(1).setMaxTokens(4).setTemperature(0f).build();
        List<Completion> completions = run.rollouts().generate(prompts, greedy, 0).getCompletionsList();
        List<String[]> out = new ArrayList<>();
        for (Completion c : completions) {
            String p = SAMPLE_PROMPTS[c.getPromptIndex()];
            String[] ab = p.substring(0, p.length() - 1).split("\\+");
            out.add(new String[] {p, Integer.toString(Integer.parseInt(ab[0]) + Integer.parseInt(ab[1])),
                    tok.decode(TrainingLoop.toArray(c.getTokenIdsList()), true)});
        }
        return out;
    }

    private static void writeSamples(Path file, List<String[]> before, List<String[]> after) throws IOException {
        StringBuilder b = new StringBuilder("# Greedy completions before and after GRPO\n\n| prompt | answer | before | after |\n|---|---|---|---|\n");
        for (int i = 0; i < before.size(); i++) {
            b.append("| `").append(before.get(i)[0]).append("` | ").append(before.get(i)[1]).append(" | `")
                    .append(before.get(i)[2]).append("` | `").append(after.get(i)[2]).append("` |\n");
        }
        Files.writeString(file, b.toString());
    }
}
