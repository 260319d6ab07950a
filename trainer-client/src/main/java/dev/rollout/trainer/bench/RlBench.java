package dev.rollout.trainer.bench;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.trainer.StepRecord;
import dev.rollout.trainer.TrainingRun;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.trainer.rollout.ServerProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One benchmark session: the model, the stop tokens and the core pinning shared by its runs, and {@link #run}, which
 * starts a server for one {@link BenchRunSpec}, trains against it and measures.
 */
public final class RlBench {
    /** A sampled token stops its completion with probability about 1 / STOP_EVERY (near-uniform random weights). */
    static final int STOP_EVERY = 64;
    static final int LENGTH_TARGET = 64;

    /**
     * What each step generates and trains: {@code prompts} × {@code generations} completions of at most
     * {@code maxCompletionLength} tokens, and whether a LoRA adapter ({@link #LORA_CONFIG}) or every weight is trained.
     */
    public record Workload(int prompts, int generations, int maxCompletionLength, boolean lora) {
        public Workload {
            if (prompts < 1 || generations < 2 || maxCompletionLength < 1) {
                throw new IllegalArgumentException("a bench workload needs at least 1 prompt, 2 generations (GRPO "
                        + "compares a group's samples) and 1 token; got " + prompts + ", " + generations + ", "
                        + maxCompletionLength);
            }
        }
    }
    /**
     * With {@code --lora}: PEFT's usual RL adapter, all linear layers at rank 16, no dropout (dropout would add a
     * forward for the sampler correction), at a learning rate in LoRA's usual range.
     */
    static final List<String> LORA_CONFIG = List.of("use_peft: true", "lora_r: 16", "lora_alpha: 32",
            "lora_dropout: 0.0", "lora_target_modules: [all-linear]", "learning_rate: 1.0e-4");
    static final String FULL_LEARNING_RATE = "learning_rate: 5.0e-5";

    private final Path dir;
    private final Path modelDir;
    private final List<Integer> stopIds;
    private final Workload workload;
    private final long seed;
    private final CorePinning pinning;
    private final PrintStream out;
    private final List<Integer> measuredLengths = new ArrayList<>();

    private RlBench(Path dir, Path modelDir, List<Integer> stopIds, Workload workload, long seed, CorePinning pinning,
                    PrintStream out) {
        this.dir = dir;
        this.modelDir = modelDir;
        this.stopIds = stopIds;
        this.workload = workload;
        this.seed = seed;
        this.pinning = pinning;
        this.out = out;
    }

    public static RlBench prepare(Path dir, String model, Workload workload, long seed, boolean pin, PrintStream out)
            throws IOException {
        Path modelDir = TrainingRun.resolveModel(model, dir);
        int vocab;
        try (Checkpoint c = Checkpoint.open(modelDir)) {
            vocab = c.config().vocabSize();
        }
        return new RlBench(dir, modelDir, stopIds(vocab), workload, seed, CorePinning.apply(pin), out);
    }

    /** Every STOP_EVERY-th id of the vocabulary (the last of each run of STOP_EVERY), at least one. */
    static List<Integer> stopIds(int vocab) {
        List<Integer> ids = new ArrayList<>();
        for (int id = STOP_EVERY - 1; id < vocab; id += STOP_EVERY) {
            ids.add(id);
        }
        if (ids.isEmpty()) {
            ids.add(vocab - 1);
        }
        return ids;
    }

    public String pinning() {
        return pinning.description();
    }

    /** The workload in words, with how the completion lengths of all runs were distributed. */
    public String workload() {
        LengthStats all = LengthStats.of(measuredLengths);
        return String.format(Locale.ROOT, "GRPO%s, %d prompts x %d generations per step, %d stop token ids of %d "
                        + "(a token stops with probability ~1/%d), max %d tokens, reward: length closeness to %d tokens; "
                        + "completion lengths (measured steps of all runs): mean %.1f, p50 %d, p90 %d, max %d",
                workload.lora() ? " training a LoRA adapter (r 16, all linear layers)" : " training every weight",
                workload.prompts(), workload.generations(), stopIds.size(), stopIds.size() * STOP_EVERY, STOP_EVERY,
                workload.maxCompletionLength(),
                LENGTH_TARGET, all.mean(), all.p50(), all.p90(), all.max());
    }

    public BenchResult run(BenchRunSpec spec, int warmupSteps, double seconds) throws IOException {
        Path runDir = dir.resolve(spec.name());
        java.nio.file.Files.createDirectories(runDir);
        int port = freePort();
        int metricsPort = freePort();
        out.println("run " + spec.name() + ": " + spec.mode() + (spec.async() ? ", max_staleness " + spec.maxStaleness() : "")
                + ", server --inflight-weight-update " + spec.inflightWeightUpdate() + " on 127.0.0.1:" + port
                + " (log: " + runDir.resolve("server.log") + ")");
        List<String> serve = List.of("--model", modelDir.toString(), "--port", Integer.toString(port),
                "--metrics-port", Integer.toString(metricsPort), "--num-blocks", "8192",
                "--inflight-weight-update", spec.inflightWeightUpdate());
        TrainerConfig config = TrainerConfig.parse(config(spec, runDir, port), List.of());
        ServerBusyTime busy = new ServerBusyTime(metricsPort);
        List<Double> rewards = new ArrayList<>();
        try (ServerProcess server = ServerProcess.start(pinning.serverLauncher(), serve, port, metricsPort,
                runDir.resolve("server.log"));
             TrainingRun run = new TrainingRun(config, null, new SimpleMeterRegistry(), Rollouts::create)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            while (run.state().step() < warmupSteps) {
                // a deadline 1 ms away passes the check before the step and not the one after it: one step per call
                run.train(System.nanoTime() + 1_000_000, r -> record(rewards, r, "warm-up"));
            }
            RunWindow window = new RunWindow(System.nanoTime(), busy.seconds(), ProcessCpuTime.self(),
                    ProcessCpuTime.of(server.pid()));
            run.train(System.nanoTime() + (long) (seconds * 1e9), r -> {
                window.add(r, System.nanoTime());
                record(rewards, r, "measured");
            });
            measuredLengths.addAll(window.lengths());
            BenchResult result = window.result(spec, busy.seconds(), ProcessCpuTime.self(),
                    ProcessCpuTime.of(server.pid()), first(rewards), last(rewards));
            out.printf(Locale.ROOT, "run %s: %d steps in %.1f s, %.2f steps/min, trainer idle %.1f%%, server idle %.1f%%%n",
                    spec.name(), result.measuredSteps(), result.measuredSeconds(), result.stepsPerMinute(),
                    100 * result.trainerIdleFraction(), 100 * result.serverIdleFraction());
            if (!server.isAlive()) {
                throw new IOException("the rollout server of run " + spec.name() + " exited; see " + server.log());
            }
            return result;
        }
    }

    private void record(List<Double> rewards, StepRecord r, String phase) {
        double reward = r.metrics().getOrDefault("reward", Double.NaN);
        rewards.add(reward);
        out.printf(Locale.ROOT, "  step %d (%s): reward %.3f, %.1f s, staleness max %.0f%n", r.step(), phase, reward,
                r.metrics().getOrDefault("step_time", Double.NaN), r.metrics().getOrDefault("staleness/max", 0.0));
    }

    private static double first(List<Double> v) {
        return v.isEmpty() ? Double.NaN : v.get(0);
    }

    private static double last(List<Double> v) {
        return v.isEmpty() ? Double.NaN : v.get(v.size() - 1);
    }

    private String config(BenchRunSpec spec, Path runDir, int port) {
        List<String> lines = new ArrayList<>(List.of(
                "trainer: grpo",
                "model: '" + modelDir + "'",
                "dataset: arithmetic",
                "reward_funcs: [length]",
                "length_target_tokens: " + LENGTH_TARGET,
                "num_generations: " + workload.generations(),
                "per_device_train_batch_size: " + workload.prompts() * workload.generations(),
                "gradient_accumulation_steps: 1",
                "max_completion_length: " + workload.maxCompletionLength(),
                "stop_token_ids: [" + stopIds.stream().map(String::valueOf).collect(Collectors.joining(", ")) + "]",
                "temperature: 1.0",
                "lr_scheduler_type: constant",
                "beta: 0.0",
                "loss_type: dapo",
                "max_grad_norm: 1.0",
                "max_steps: 100000",
                "logging_steps: 1",
                "save_steps: 0",
                "seed: " + seed,
                "output_dir: '" + runDir + "'",
                "async_generation: " + spec.async(),
                "max_staleness: " + Math.max(spec.maxStaleness(), 0),
                "rollout:",
                "  mode: server",
                "  servers: ['127.0.0.1:" + port + "']"));
        if (workload.lora()) {
            lines.addAll(LORA_CONFIG);
        } else {
            lines.add(FULL_LEARNING_RATE);
        }
        return String.join("\n", lines) + "\n";
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
