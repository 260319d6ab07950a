package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.rollout.model.CausalLM;
import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.LogprobsMode;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.config.TrainerType;
import dev.rollout.trainer.data.PromptDataset;
import dev.rollout.trainer.data.PromptRow;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.CompletionMask;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.RlooLoss;
import dev.rollout.trainer.loss.SamplingCorrection;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.optim.GradClip;
import dev.rollout.trainer.optim.Gradients;
import dev.rollout.trainer.optim.LearningRateSchedule;
import dev.rollout.trainer.reward.RewardScores;
import dev.rollout.trainer.reward.RewardSet;
import dev.rollout.trainer.reward.ScoredCompletion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One GRPO or RLOO step as TRL takes it: generate {@code num_generations} completions per prompt, score them, compute
 * advantages, then for each of {@code num_iterations} passes accumulate the loss over micro-batches of
 * {@code per_device_train_batch_size} completions, clip the gradient norm, take an AdamW step and publish the weights.
 */
public final class TrainingLoop {
    private final TrainerConfig config;
    private final Policy policy;
    private final CausalLM reference; // null unless beta != 0
    private final Tokenizer tokenizer;
    private final RolloutSource rollouts;
    private final PromptDataset dataset;
    private final RewardSet rewards;
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    private final NDManager manager;
    private final TrainingState state;

    public TrainingLoop(TrainerConfig config, Policy policy, CausalLM reference, Tokenizer tokenizer, RolloutSource rollouts,
                        PromptDataset dataset, RewardSet rewards, AdamW optimizer, TrainingState state, NDManager manager) {
        this.config = config;
        this.policy = policy;
        this.reference = reference;
        this.tokenizer = tokenizer;
        this.rollouts = rollouts;
        this.dataset = dataset;
        this.rewards = rewards;
        this.optimizer = optimizer;
        this.state = state;
        this.manager = manager;
        this.schedule = new LearningRateSchedule(config.learningRate(), config.lrSchedulerType(), config.warmupSteps(),
                totalSteps());
        int completions = config.perDeviceTrainBatchSize() * config.gradientAccumulationSteps();
        if (completions % config.numGenerations() != 0) {
            throw new IllegalArgumentException("per_device_train_batch_size x gradient_accumulation_steps (" + completions
                    + ") must be a multiple of num_generations (" + config.numGenerations() + ")");
        }
        if (config.beta() != 0 && reference == null) {
            throw new IllegalArgumentException("beta = " + config.beta() + " needs a reference model");
        }
    }

    public TrainingState state() {
        return state;
    }

    /** {@code max_steps}, or when it is -1 the steps that {@code num_train_epochs} passes over the prompts take. */
    int totalSteps() {
        if (config.maxSteps() > 0) {
            return config.maxSteps();
        }
        double generations = Math.ceil(config.numTrainEpochs() * dataset.size() / promptsPerStep());
        return Math.max(1, (int) generations * config.numIterations());
    }

    /** Prompts per generation: the completions of one optimizer step divided among the groups. */
    int promptsPerStep() {
        return config.perDeviceTrainBatchSize() * config.gradientAccumulationSteps() / config.numGenerations();
    }

    /** Runs one generation and its {@code num_iterations} optimizer steps; returns the metrics TRL logs for it. */
    public StepRecord step() {
        long start = System.nanoTime();
        int g = config.numGenerations();
        List<PromptRow> rows = new ArrayList<>();
        for (int i = 0; i < promptsPerStep(); i++) {
            rows.add(dataset.row(state.nextRow(dataset, config.shuffleDataset())));
        }
        List<Prompt> prompts = rows.stream().map(TrainingLoop::toProto).toList();
        SamplingParams.Builder sampling = SamplingParams.newBuilder()
                .setN(g)
                .setMaxTokens(config.maxCompletionLength())
                .setTemperature((float) config.temperature())
                .setTopP((float) config.topP())
                .setTopK(config.topK())
                .setMinP((float) config.minP())
                .setSeed(config.seed() * 1_000_003L + state.step())
                .setLogprobsMode(LogprobsMode.LOGPROBS_MODE_PROCESSED);
        GenerateBatchResponse response = rollouts.generate(prompts, sampling.build(),
                config.requireCurrentWeights() ? state.weightVersion() : 0);
        List<Completion> completions = response.getCompletionsList();
        double generateSeconds = seconds(start);
        if (completions.size() != prompts.size() * g) {
            throw new IllegalStateException("asked for " + prompts.size() * g + " completions, got " + completions.size());
        }

        List<ScoredCompletion> scored = new ArrayList<>();
        for (Completion c : completions) {
            PromptRow row = rows.get(c.getPromptIndex());
            String promptText = row.isConversation() ? tokenizer.decode(toArray(c.getPromptTokenIdsList()), false) : row.text();
            scored.add(new ScoredCompletion(promptText, c.getText(), toArray(c.getTokenIdsList()), row.columns()));
        }
        RewardScores scores = rewards.score(scored);

        long trainStart = System.nanoTime();
        Map<String, Double> metrics = new LinkedHashMap<>(scores.stats());
        Batch batch = new Batch(completions, config, manager);
        double publishSeconds = 0;
        long publishedBytes = 0;
        try {
            NDArray[] old = null;
            NDArray[] ref = null;
            boolean needOld = config.numIterations() > 1 || config.trainer() == TrainerType.RLOO;
            if (needOld || reference != null) {
                old = needOld ? new NDArray[batch.micro.size()] : null;
                ref = reference != null ? new NDArray[batch.micro.size()] : null;
                boolean mode = JniUtils.isGradMode();
                JniUtils.setGradMode(false);
                try {
                    for (int m = 0; m < batch.micro.size(); m++) {
                        if (old != null) {
                            old[m] = policy.completionLogProbs(batch.micro.get(m).rows, config.temperature(), manager).logProbs();
                        }
                        if (ref != null) {
                            ref[m] = new Policy(reference).completionLogProbs(batch.micro.get(m).rows, config.temperature(), manager).logProbs();
                        }
                    }
                } finally {
                    JniUtils.setGradMode(mode);
                }
            }
            double[] advantages;
            if (config.trainer() == TrainerType.GRPO) {
                Advantages a = Advantages.grpo(scores.total(), g, config.scaleRewards());
                advantages = a.values();
                metrics.put("frac_reward_zero_std", a.fractionZeroStdGroups());
            } else {
                double[] kl = null;
                if (config.beta() != 0) {
                    kl = new double[completions.size()];
                    int at = 0;
                    for (int m = 0; m < batch.micro.size(); m++) {
                        for (double v : Advantages.sequenceKl(old[m], ref[m], batch.micro.get(m).mask)) {
                            kl[at++] = v;
                        }
                    }
                }
                Advantages a = Advantages.rloo(scores.total(), kl, config.beta(), g, config.normalizeAdvantages());
                advantages = a.values();
                metrics.put("frac_reward_zero_std", a.fractionZeroStdGroups());
            }

            MetricMeans means = new MetricMeans();
            for (int iteration = 0; iteration < config.numIterations(); iteration++) {
                for (int m = 0; m < batch.micro.size(); m++) {
                    MicroBatch mb = batch.micro.get(m);
                    try (NDManager scope = manager.newSubManager();
                         GradientCollector collector = manager.getEngine().newGradientCollector()) {
                        TokenLogProbs lp = policy.completionLogProbs(mb.rows, config.temperature(), scope);
                        NDArray adv = scope.create(slice(advantages, mb.offset, mb.rows.size()));
                        LossResult result = lossOf(lp, old == null ? null : old[m], ref == null ? null : ref[m], adv, mb,
                                batch.activeTokens, scope, means);
                        collector.backward(result.loss());
                        means.add(result.stats());
                    }
                }
                double gradNorm = GradClip.clipGlobalNorm(policy.trainableParameters(), config.maxGradNorm());
                double lr = schedule.at(state.step());
                optimizer.step(lr);
                Gradients.zero(policy.trainableParameters());
                means.add(Map.of("grad_norm", gradNorm, "learning_rate", lr));
                state.advance();
                long t = System.nanoTime();
                RolloutSource.Publication p = rollouts.publish(state.weightVersion());
                publishSeconds += seconds(t);
                publishedBytes += p.bytes();
            }
            metrics.putAll(means.means());
        } finally {
            batch.close();
        }
        double trainSeconds = seconds(trainStart) - publishSeconds;

        int clipped = 0;
        long tokens = 0;
        for (Completion c : completions) {
            tokens += c.getTokenIdsCount();
            clipped += c.getFinishReason() == FinishReason.FINISH_REASON_LENGTH ? 1 : 0;
        }
        metrics.put("completions/mean_length", (double) tokens / completions.size());
        metrics.put("completions/clipped_ratio", (double) clipped / completions.size());
        metrics.put("weight_version", (double) state.weightVersion());
        metrics.put("time/generate", generateSeconds);
        metrics.put("time/train", trainSeconds);
        metrics.put("time/sync", publishSeconds);
        metrics.put("step_time", seconds(start));
        metrics.put("tokens_per_second", tokens / Math.max(generateSeconds, 1e-9));
        return new StepRecord(state.step(), metrics, completions, scored, scores.total(), tokens, publishedBytes);
    }

    private LossResult lossOf(TokenLogProbs lp, NDArray old, NDArray ref, NDArray adv, MicroBatch mb, double activeTokens,
                              NDManager scope, MetricMeans means) {
        NDArray oldOrCurrent = old != null ? old : lp.logProbs().stopGradient();
        if (config.trainer() == TrainerType.RLOO) {
            NDArray oldSums = old == null ? null : old.mul(mb.mask).sum(new int[] {1});
            return RlooLoss.compute(lp.logProbs(), oldSums, adv, mb.mask, lp.entropy(), config.epsilon(),
                    config.epsilonHigh(), config.gradientAccumulationSteps());
        }
        NDArray samplingRatio = null;
        SamplingCorrection correction = SamplingCorrection.compute(oldOrCurrent, mb.samplingLogProbs, mb.mask,
                config.samplingCorrectionMode(), config.samplingCorrectionClipMin(), config.samplingCorrectionClipMax());
        means.add(correction.stats());
        if (config.samplingCorrection()) {
            samplingRatio = correction.ratio();
        }
        return PolicyLoss.compute(new PolicyLoss.Batch(lp.logProbs(), old, ref, adv, mb.mask, samplingRatio, lp.entropy()),
                PolicyLoss.Settings.from(config), activeTokens, config.gradientAccumulationSteps());
    }

    /** The generation batch cut into micro-batches, with their masks and the server's log-probs, on the loop's manager. */
    private static final class Batch implements AutoCloseable {
        final List<MicroBatch> micro = new ArrayList<>();
        final double activeTokens;
        private final NDManager scope;

        Batch(List<Completion> completions, TrainerConfig config, NDManager parent) {
            scope = parent.newSubManager();
            int size = config.perDeviceTrainBatchSize();
            double active = 0;
            for (int offset = 0; offset < completions.size(); offset += size) {
                List<Completion> part = completions.subList(offset, Math.min(completions.size(), offset + size));
                MicroBatch mb = new MicroBatch(offset, part, config, scope);
                active += CompletionMask.activeTokens(mb.mask);
                micro.add(mb);
            }
            activeTokens = active;
        }

        @Override
        public void close() {
            scope.close();
        }
    }

    private static final class MicroBatch {
        final int offset;
        final List<Policy.Sequence> rows = new ArrayList<>();
        final NDArray mask;
        final NDArray samplingLogProbs;

        MicroBatch(int offset, List<Completion> part, TrainerConfig config, NDManager scope) {
            this.offset = offset;
            int width = 1;
            for (Completion c : part) {
                width = Math.max(width, c.getTokenIdsCount());
            }
            int[] lengths = new int[part.size()];
            boolean[] truncated = new boolean[part.size()];
            float[] sampling = new float[part.size() * width];
            for (int i = 0; i < part.size(); i++) {
                Completion c = part.get(i);
                rows.add(new Policy.Sequence(toArray(c.getPromptTokenIdsList()), toArray(c.getTokenIdsList())));
                lengths[i] = c.getTokenIdsCount();
                truncated[i] = c.getFinishReason() != FinishReason.FINISH_REASON_STOP;
                for (int t = 0; t < c.getLogprobsCount(); t++) {
                    sampling[i * width + t] = c.getLogprobs(t);
                }
            }
            mask = CompletionMask.build(scope, lengths, truncated, width, config.maskTruncatedCompletions());
            samplingLogProbs = scope.create(sampling, new Shape(part.size(), width));
        }
    }

    /** Means of per-micro-batch statistics over the step. */
    private static final class MetricMeans {
        private final Map<String, double[]> sums = new LinkedHashMap<>();

        void add(Map<String, Double> stats) {
            stats.forEach((k, v) -> {
                double[] s = sums.computeIfAbsent(k, x -> new double[2]);
                s[0] += v;
                s[1]++;
            });
        }

        Map<String, Double> means() {
            Map<String, Double> out = new LinkedHashMap<>();
            sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
            return out;
        }
    }

    static Prompt toProto(PromptRow row) {
        if (!row.isConversation()) {
            return Prompt.newBuilder().setText(row.text()).build();
        }
        Conversation.Builder c = Conversation.newBuilder();
        row.messages().forEach(m -> c.addMessages(ChatMessage.newBuilder().setRole(m.role()).setContent(m.content())));
        return Prompt.newBuilder().setConversation(c).build();
    }

    static int[] toArray(List<Integer> ids) {
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i);
        }
        return out;
    }

    private static float[] slice(double[] values, int from, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) values[from + i];
        }
        return out;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
