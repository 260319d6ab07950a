package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.lora.PeftAdapterFiles;
import dev.rollout.model.CausalLM;
import dev.rollout.model.Devices;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.cli.TrainingPlot;
import dev.rollout.trainer.config.RolloutMode;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.PromptDataset;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.reward.RewardSet;
import dev.rollout.trainer.rollout.RolloutSource;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one training run holds: the policy (and the reference model when β ≠ 0) on the trainer's device, the
 * optimizer, the prompts and rewards, the rollout source, the metrics log; and the loop that steps until
 * {@code max_steps} or a time limit, saving checkpoints every {@code save_steps} and at the end.
 */
public final class TrainingRun implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);

    private final TrainerConfig config;
    private final Path outputDir;
    private final NDManager manager;
    private final Checkpoint source;
    private final Policy policy;
    private final AdamW optimizer;
    private final RolloutSource rollouts;
    private final TrainingLoop loop;
    private final MetricsLog metrics;
    private final List<TrainingPlot.Point> points = new ArrayList<>();

    /**
     * @param resumeFrom a checkpoint written by an earlier run ({@code output_dir/checkpoint-N}), or null to start from
     *                   the config's model
     * @param rolloutFactory makes the rollout source for this policy (server or colocate)
     */
    public TrainingRun(TrainerConfig config, Path resumeFrom, MeterRegistry registry, RolloutFactory rolloutFactory)
            throws IOException {
        this.config = config;
        this.outputDir = Path.of(config.outputDir());
        Files.createDirectories(outputDir);
        RewardSet rewards = RewardSet.fromConfig(config); // a bad reward entry fails before a large model loads
        Path modelDir = resumeFrom != null && !config.usePeft() ? resumeFrom : resolveModel(config.model(), outputDir);
        checkResumable(config, resumeFrom);
        this.manager = NDManager.newBaseManager(Devices.parse(config.device()));
        boolean ok = false;
        try {
            this.source = Checkpoint.open(modelDir);
            ModelWeights weights = source.loadWeights(manager);
            CausalLM model = new CausalLM(source.config(), weights);
            CausalLM reference = null;
            if (config.usePeft()) {
                model.setAdapter(LoraTraining.adapter(config, source.config(), resumeFrom, manager));
                model.adapter().parameters().forEach(p -> p.setRequiresGradient(true));
                if (config.beta() != 0) {
                    // the reference is the base: the same frozen tensors with the adapter off
                    reference = new CausalLM(source.config(), weights);
                }
                LOG.info("LoRA: rank {} on {}, {} trainable parameters of {}", config.loraR(),
                        model.adapter().config().targetModuleNames(),
                        model.adapter().parameters().stream().mapToLong(NDArray::size).sum(),
                        weights.parameters().stream().mapToLong(NDArray::size).sum());
            } else {
                weights.parameters().forEach(p -> p.setRequiresGradient(true));
                if (config.beta() != 0) {
                    // the reference is the model training started from, also when resuming
                    try (Checkpoint base = Checkpoint.open(resolveModel(config.model(), outputDir))) {
                        reference = new CausalLM(base.config(), base.loadWeights(manager));
                    }
                }
            }
            this.policy = new Policy(model);
            this.optimizer = new AdamW(policy.trainableParameters(), config.adamBeta1(), config.adamBeta2(), config.adamEpsilon(),
                    config.weightDecay());
            TrainingState state = resumeFrom != null ? TrainerCheckpoint.restore(resumeFrom, optimizer) : TrainingState.fresh();
            this.rollouts = rolloutFactory.create(config, policy, source);
            this.metrics = MetricsLog.continuingAfter(outputDir.resolve("metrics.jsonl"), state.step(), registry);
            points.addAll(MetricsLog.points(outputDir.resolve("metrics.jsonl")));
            this.loop = new TrainingLoop(config,
                    new TrainingLoop.Models(policy, reference == null ? null : new Policy(reference), source.tokenizer()),
                    new TrainingLoop.Task(PromptDataset.open(config.dataset(), config.seed()), rewards),
                    rollouts, optimizer, state, manager);
            ok = true;
        } finally {
            if (!ok) {
                manager.close();
            }
        }
    }

    /** A LoRA checkpoint resumes only with use_peft, and a full one only without. */
    private static void checkResumable(TrainerConfig config, Path resumeFrom) throws IOException {
        if (resumeFrom == null) {
            return;
        }
        boolean adapter = PeftAdapterFiles.isAdapterDir(resumeFrom);
        if (adapter && !config.usePeft()) {
            throw new IOException(resumeFrom + " holds a LoRA adapter: set use_peft: true (and the model it was trained on) to resume it");
        }
        if (!adapter && config.usePeft()) {
            throw new IOException(resumeFrom + " holds no LoRA adapter (" + PeftAdapterFiles.CONFIG_FILE
                    + "): it is a full fine-tuning checkpoint; resume it without use_peft");
        }
    }

    /** Makes the rollout source of a run once its policy exists. */
    @FunctionalInterface
    public interface RolloutFactory {
        RolloutSource create(TrainerConfig config, Policy policy, Checkpoint model) throws IOException;
    }

    /** A preset name becomes a checkpoint directory under the output folder (made once); a path is used as it is. */
    public static Path resolveModel(String model, Path outputDir) throws IOException {
        if (ModelPresets.isPreset(model)) {
            Path dir = outputDir.resolve("base-model-" + model);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                ModelPresets.materialize(model, 0, dir);
            }
            return dir;
        }
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw new IOException("model '" + model + "' is neither a preset (" + String.join(", ", ModelPresets.NAMES)
                    + ") nor a checkpoint directory");
        }
        return dir;
    }

    public Policy policy() {
        return policy;
    }

    public TrainingState state() {
        return loop.state();
    }

    public RolloutSource rollouts() {
        return rollouts;
    }

    public Checkpoint source() {
        return source;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public NDManager manager() {
        return manager;
    }

    public List<TrainingPlot.Point> points() {
        return points;
    }

    /**
     * Publishes the policy's weights before the first step, so the servers generate with exactly what is trained
     * (they may have loaded another checkpoint, or this run resumes), as a version above all of theirs.
     */
    public void publishInitialWeights(long serverVersion) {
        long version = Math.max(serverVersion, loop.state().weightVersion()) + 1;
        RolloutSource.Publication p = rollouts.publish(version);
        loop.state().setWeightVersion(version);
        LOG.info("initial weights published as version {} ({} bytes in {} s)", version, p.bytes(), String.format("%.2f", p.seconds()));
    }

    /**
     * Steps until {@code max_steps} or until {@code deadlineNanos} (System.nanoTime; 0 for none) passes, handing each
     * step's record to {@code onStep}. Checkpoints every {@code save_steps} and at the end.
     */
    public void train(long deadlineNanos, Consumer<StepRecord> onStep) throws IOException {
        int total = totalSteps();
        while (loop.state().step() < total && (deadlineNanos == 0 || System.nanoTime() < deadlineNanos)) {
            StepRecord r = loop.step();
            metrics.record(r.step(), r.metrics());
            points.add(new TrainingPlot.Point(r.step(), r.metrics().getOrDefault("reward", Double.NaN),
                    r.metrics().getOrDefault("tokens_per_second", Double.NaN)));
            onStep.accept(r);
            if (config.saveSteps() > 0 && r.step() % config.saveSteps() == 0 && r.step() < total) {
                save();
            }
        }
    }

    /** {@code max_steps}, or when it is -1 the steps that {@code num_train_epochs} passes over the prompts take. */
    public int totalSteps() {
        return loop.totalSteps();
    }

    public Path save() throws IOException {
        Path dir = TrainerCheckpoint.save(outputDir, policy, source.config(), source.dir(), optimizer, loop.checkpointState(),
                config.saveMergedModel());
        LOG.info("checkpoint saved to {}", dir);
        return dir;
    }

    @Override
    public void close() {
        try {
            metrics.close();
        } catch (IOException e) {
            LOG.warn("closing metrics.jsonl: {}", e.getMessage());
        }
        loop.close();
        rollouts.close();
        try {
            source.close();
        } catch (IOException e) {
            LOG.warn("closing the model files: {}", e.getMessage());
        }
        optimizer.close();
        manager.close();
    }

    /** The servers' highest weight version, to publish above. */
    public static long highestVersion(List<ModelInfo> infos) {
        return infos.stream().mapToLong(ModelInfo::getWeightVersion).max().orElse(0);
    }
}
