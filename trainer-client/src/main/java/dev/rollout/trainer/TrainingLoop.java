package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.proto.v1.Completion;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.PromptDataset;
import dev.rollout.trainer.data.PromptRow;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.optim.GradClip;
import dev.rollout.trainer.optim.Gradients;
import dev.rollout.trainer.optim.LearningRateSchedule;
import dev.rollout.trainer.reward.RewardScores;
import dev.rollout.trainer.reward.RewardSet;
import dev.rollout.trainer.reward.ScoredCompletion;
import dev.rollout.trainer.rollout.RolloutSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One generation batch as TRL trains on it, in phases: generate {@code num_generations} completions per prompt, score
 * them, compute the fixed (reference and old) log-probs, the advantages, shuffle the batch into micro-batches of
 * {@code per_device_train_batch_size} completions, then for each of {@code num_iterations} passes optimize (each
 * {@code gradient_accumulation_steps} micro-batches accumulate into one optimizer step: clip the gradient norm, take an
 * AdamW step) and publish the weights after each optimizer step; finally log what TRL logs.
 */
public final class TrainingLoop implements AutoCloseable {
    private final TrainerConfig config;
    private final Models models;
    private final Task task;
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    private final NDManager manager;
    private final TrainingState state;
    private final Algorithm algorithm;
    private final Set<Integer> stopIds;
    private final StepRollouts stepRollouts;

    /**
     * The models of a run.
     *
     * @param reference the policy's starting point, scored against when β ≠ 0; null otherwise
     */
    public record Models(Policy policy, Policy reference, Tokenizer tokenizer) {}

    /** What is trained on: the prompts and the reward functions that score their completions. */
    public record Task(PromptDataset dataset, RewardSet rewards) {}

    public TrainingLoop(TrainerConfig config, Models models, Task task, RolloutSource rollouts, AdamW optimizer,
                        TrainingState state, NDManager manager) {
        this.config = config;
        this.models = models;
        this.task = task;
        this.optimizer = optimizer;
        this.state = state;
        this.manager = manager;
        this.algorithm = Algorithm.of(config);
        this.stopIds = new LinkedHashSet<>(models.tokenizer().eosTokenIds());
        stopIds.addAll(models.policy().model().config().eosTokenIds());
        this.schedule = new LearningRateSchedule(config.learningRate(), config.lrSchedulerType(), config.warmupSteps(),
                totalSteps());
        int completions = config.generationBatchSize();
        if (completions % config.numGenerations() != 0) {
            throw new IllegalArgumentException("the generation batch (" + completions
                    + " completions) must be a multiple of num_generations (" + config.numGenerations() + ")");
        }
        if (config.beta() != 0 && models.reference() == null) {
            throw new IllegalArgumentException("beta = " + config.beta() + " needs a reference model");
        }
        this.stepRollouts = new StepRollouts(config, task.dataset(), state, rollouts, promptsPerStep(),
                config.numIterations() * optimizerStepsPerPass());
    }

    public TrainingState state() {
        return state;
    }

    /** {@code max_steps}, or when it is -1 the steps that {@code num_train_epochs} passes over the prompts take. */
    int totalSteps() {
        if (config.maxSteps() > 0) {
            return config.maxSteps();
        }
        double generations = Math.ceil(config.numTrainEpochs() * task.dataset().size() / promptsPerStep());
        return Math.max(1, (int) generations * config.numIterations() * optimizerStepsPerPass());
    }

    /** Prompts per generation: the generation batch's completions divided among the groups. */
    int promptsPerStep() {
        return config.generationBatchSize() / config.numGenerations();
    }

    /** Optimizer steps in one pass over a generation batch: steps_per_generation / gradient_accumulation_steps. */
    private int optimizerStepsPerPass() {
        return config.stepsPerGeneration() / config.gradientAccumulationSteps();
    }

    /**
     * Runs one generation and its {@code num_iterations} × steps_per_generation / gradient_accumulation_steps
     * optimizer steps; returns the metrics TRL logs for it (means over those optimizer steps).
     */
    public StepRecord step() {
        long start = System.nanoTime();
        StepRollouts.Taken taken = stepRollouts.next();
        List<PromptRow> rows = taken.rows();
        List<Completion> completions = taken.completions();

        List<ScoredCompletion> scored = toScored(rows, completions);
        RewardScores scores = task.rewards().score(scored);

        long trainStart = System.nanoTime();
        Map<String, Double> metrics = new LinkedHashMap<>(scores.stats());
        Publications publications = new Publications();
        int[] order = GenerationBatch.shuffledOrder(completions.size(), config.seed() * 1_000_003L + state.step());
        try (GenerationBatch batch = new GenerationBatch(completions, order, stopIds, config, manager)) {
            // TRL computes old log-probs whenever an optimizer step could come between generation and the loss
            boolean needOld = config.numIterations() > 1 || optimizerStepsPerPass() > 1 || algorithm.needsOldLogProbs();
            // The sampler correction compares the server's log-probs with the policy's. With LoRA dropout the training
            // forward's are noised by it (TRL's too: it scores in train mode), so they come from a forward without it.
            boolean needCorrection = !needOld && config.samplingCorrection() && algorithm.usesSamplingCorrection()
                    && models.policy().trainsWithDropout();
            FixedLogProbs.compute(batch, needOld ? models.policy() : null, models.reference(),
                    needCorrection ? models.policy() : null, config.temperature());
            Advantages advantages = algorithm.advantages(scores, batch, metrics);
            metrics.put("frac_reward_zero_std", advantages.fractionZeroStdGroups());
            Map<String, Double> optimized = optimize(batch, advantages.values(), publications);
            if (config.samplingCorrection() && algorithm.usesSamplingCorrection()) {
                metrics.putAll(batch.correctionTotals.metrics());
            }
            metrics.putAll(optimized);
        }
        double trainSeconds = seconds(trainStart) - publications.seconds;

        long tokens = CompletionStats.put(completions, stopIds, metrics);
        long generated = 0;
        for (Completion c : completions) {
            generated += c.getPromptTokenIdsCount() + c.getTokenIdsCount();
        }
        metrics.put("num_tokens", (double) state.addTokensSeen(generated));
        metrics.put("weight_version", (double) state.weightVersion());
        metrics.put("time/generate", taken.generateSeconds());
        metrics.put("time/train", trainSeconds);
        metrics.put("time/sync", publications.seconds);
        metrics.put("step_time", seconds(start));
        metrics.put("tokens_per_second", tokens / Math.max(taken.generationInterval(), 1e-9));
        metrics.putAll(taken.metrics());
        return new StepRecord(state.step(), metrics, completions, scored, scores.total(), tokens, publications.bytes);
    }

    /**
     * The state a checkpoint records now: in async mode with the prompt cursor at the oldest group not trained on yet
     * (see {@link StepRollouts#checkpointState}).
     */
    public TrainingState checkpointState() {
        return stepRollouts.checkpointState();
    }

    // ---- score ----

    private List<ScoredCompletion> toScored(List<PromptRow> rows, List<Completion> completions) {
        List<ScoredCompletion> scored = new ArrayList<>();
        for (Completion c : completions) {
            PromptRow row = rows.get(c.getPromptIndex());
            String promptText = row.isConversation()
                    ? models.tokenizer().decode(toArray(c.getPromptTokenIdsList()), false) : row.text();
            scored.add(new ScoredCompletion(promptText, c.getText(), toArray(c.getTokenIdsList()), row.columns()));
        }
        return scored;
    }

    // ---- optimize and publish ----

    private Map<String, Double> optimize(GenerationBatch batch, double[] advantages, Publications publications) {
        StepMetrics means = new StepMetrics();
        int accumulation = config.gradientAccumulationSteps();
        int total = totalSteps();
        for (int iteration = 0; iteration < config.numIterations(); iteration++) {
            for (int first = 0; first < batch.micro.size(); first += accumulation) {
                if (state.step() >= total) {
                    return means.means(); // max_steps reached within this generation's optimizer steps
                }
                double stepLoss = 0;
                for (MicroBatch mb : batch.micro.subList(first, Math.min(batch.micro.size(), first + accumulation))) {
                    try (NDManager scope = manager.newSubManager();
                         GradientCollector collector = manager.getEngine().newGradientCollector()) {
                        TokenLogProbs lp = models.policy().completionLogProbs(mb.rows, config.temperature(), scope);
                        NDArray adv = scope.create(mb.pick(advantages));
                        LossResult result = algorithm.loss(mb, lp, adv, batch, means);
                        collector.backward(result.loss());
                        Map<String, Double> stats = new LinkedHashMap<>(result.stats());
                        stepLoss += stats.remove("loss");
                        means.add(stats);
                    }
                }
                // TRL's logged loss: what the optimizer step back-propagated, summed over its micro-batches
                means.add(Map.of("loss", stepLoss));
                means.add(optimizerStep());
                RolloutSource.Publication p = stepRollouts.publish(state.step(), state.weightVersion());
                if (p != null) {
                    publications.add(p);
                }
            }
        }
        return means.means();
    }

    /** Stops the async producer, if any; its groups in flight are cancelled. */
    @Override
    public void close() {
        stepRollouts.close();
    }

    private Map<String, Double> optimizerStep() {
        double gradNorm = GradClip.clipGlobalNorm(models.policy().trainableParameters(), config.maxGradNorm());
        double lr = schedule.at(state.step());
        optimizer.step(lr);
        Gradients.zero(models.policy().trainableParameters());
        state.advance();
        if (config.syncRefModel() && ReferenceSync.due(state.step(), config.refModelSyncSteps())) {
            ReferenceSync.mix(models.reference().model().weights().parameters(),
                    models.policy().model().weights().parameters(), config.refModelMixupAlpha());
        }
        return Map.of("grad_norm", gradNorm, "learning_rate", lr);
    }

    /** What the step's weight publications cost together. */
    private static final class Publications {
        double seconds;
        long bytes;

        void add(RolloutSource.Publication p) {
            seconds += p.seconds();
            bytes += p.bytes();
        }
    }

    // ---- log ----

    public static int[] toArray(List<Integer> ids) {
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i);
        }
        return out;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
