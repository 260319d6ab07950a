package dev.rollout.trainer;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.LogprobsMode;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.async.AsyncGeneration;
import dev.rollout.trainer.async.DrawnPrompt;
import dev.rollout.trainer.async.GroupSource;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.PromptDataset;
import dev.rollout.trainer.data.PromptRow;
import dev.rollout.trainer.rollout.RolloutSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where each step's prompts and completions come from, and where its weights go: in sync mode the step's prompts are
 * drawn and generated now, and the weights are pushed after every optimizer step; with {@code async_generation} the
 * batch is taken from the producer that generates ahead of training, and the weights are pushed every
 * {@code weight_sync_steps} while generation goes on.
 */
public final class StepRollouts implements AutoCloseable {
    private final TrainerConfig config;
    private final PromptDataset dataset;
    private final TrainingState state;
    private final RolloutSource rollouts;
    private final int promptsPerStep;
    private final int versionsPerBatch;
    /** With async_generation: the producer, started at the first step. */
    private AsyncGeneration async;

    /**
     * One step's generation batch.
     *
     * @param generateSeconds    how long the step waited for it
     * @param generationInterval over which its tokens were generated, for tokens_per_second
     * @param metrics            the async statistics of the batch; empty in sync mode
     */
    record Taken(List<PromptRow> rows, List<Completion> completions, double generateSeconds, double generationInterval,
            Map<String, Double> metrics) {}

    /** @param versionsPerBatch the weight versions one generation batch advances (optimizer steps over it) */
    StepRollouts(TrainerConfig config, PromptDataset dataset, TrainingState state, RolloutSource rollouts,
            int promptsPerStep, int versionsPerBatch) {
        this.config = config;
        this.dataset = dataset;
        this.state = state;
        this.rollouts = rollouts;
        this.promptsPerStep = promptsPerStep;
        this.versionsPerBatch = versionsPerBatch;
    }

    /** The next step's generation batch. */
    Taken next() {
        if (config.asyncGeneration()) {
            AsyncGeneration.Batch b = asyncGeneration().take(state.weightVersion());
            return new Taken(b.rows(), b.completions(), b.waitSeconds(), b.intervalSeconds(), b.metrics());
        }
        long start = System.nanoTime();
        List<PromptRow> rows = new ArrayList<>();
        for (int i = 0; i < promptsPerStep; i++) {
            rows.add(nextPrompt());
        }
        List<Completion> completions = generate(rows);
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Taken(rows, completions, seconds, seconds, Map.of());
    }

    /**
     * After optimizer step {@code step}: pushes the weights as {@code version}, every step in sync mode, every
     * {@code weight_sync_steps} in async mode; returns what it cost, or null when no push was due.
     */
    RolloutSource.Publication publish(int step, long version) {
        if (async == null) {
            return rollouts.publish(version);
        }
        if (!async.syncDue(step)) {
            return null;
        }
        RolloutSource.Publication p = rollouts.publish(version);
        async.published(version);
        return p;
    }

    /**
     * The state a checkpoint records now: in async mode the prompt cursor goes back to the oldest group not trained on
     * yet (in flight or waiting for the trainer), so that a resumed run generates those groups again from the
     * checkpoint's weights, and the later draws already trained on are skipped.
     */
    TrainingState checkpointState() {
        if (async == null) {
            return state;
        }
        return async.withUntrainedDraws(untrained -> {
            synchronized (state) {
                return state.resumePoint(untrained, dataset.size());
            }
        });
    }

    /** The next prompt of the dataset's order. */
    private PromptRow nextPrompt() {
        return dataset.row(state.nextRow(dataset, config.shuffleDataset()));
    }

    /** The next prompt and its draw number, for the async producer's thread. */
    private DrawnPrompt nextDrawnPrompt() {
        synchronized (state) {
            PromptRow row = nextPrompt();
            return new DrawnPrompt(state.lastDraw(), row);
        }
    }

    private List<Completion> generate(List<PromptRow> rows) {
        List<Prompt> prompts = rows.stream().map(StepRollouts::toProto).toList();
        SamplingParams sampling = samplingParams(config, config.seed() * 1_000_003L + state.step());
        List<Completion> completions = rollouts.generate(prompts, sampling,
                config.requireCurrentWeights() ? state.weightVersion() : 0).getCompletionsList();
        int expected = prompts.size() * config.numGenerations();
        if (completions.size() != expected) {
            throw new IllegalStateException("asked for " + expected + " completions, got " + completions.size());
        }
        return completions;
    }

    /** The async producer, started from the weights published before the first step. */
    private AsyncGeneration asyncGeneration() {
        if (async == null) {
            GroupSource groups = rollouts.groups();
            if (groups == null) {
                throw new IllegalStateException("async_generation needs rollout servers; " + rollouts.describe() + " has none");
            }
            async = new AsyncGeneration(config, groups, this::nextDrawnPrompt, StepRollouts::toProto, versionsPerBatch,
                    state.weightVersion());
        }
        return async;
    }

    /** The config's sampling parameters, {@code num_generations} per prompt, with {@code seed}. */
    public static SamplingParams samplingParams(TrainerConfig config, long seed) {
        return SamplingParams.newBuilder()
                .setN(config.numGenerations())
                .setMaxTokens(config.maxCompletionLength())
                .setTemperature((float) config.temperature())
                .setTopP((float) config.topP())
                .setTopK(config.topK())
                .setMinP((float) config.minP())
                .addAllStopTokenIds(config.stopTokenIds())
                .setSeed(seed)
                .setLogprobsMode(LogprobsMode.LOGPROBS_MODE_PROCESSED)
                .build();
    }

    static Prompt toProto(PromptRow row) {
        if (!row.isConversation()) {
            return Prompt.newBuilder().setText(row.text()).build();
        }
        Conversation.Builder c = Conversation.newBuilder();
        row.messages().forEach(m -> c.addMessages(ChatMessage.newBuilder().setRole(m.role()).setContent(m.content())));
        return Prompt.newBuilder().setConversation(c).build();
    }

    /** Stops the async producer, if any; its groups in flight are cancelled. */
    @Override
    public void close() {
        if (async != null) {
            async.close();
        }
    }
}
