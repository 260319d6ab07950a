package dev.rollout.trainer.async;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.StepRollouts;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.PromptRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The trainer's side of {@code async_generation}: it starts the {@link GroupProducer} with the config's budget, takes
 * each generation batch from it as (prompts, completions) in the shape the synchronous loop generates them, with
 * the staleness and queue statistics of the batch, and says when the weights are due to be pushed.
 */
public final class AsyncGeneration implements AutoCloseable {
    private final TrainerConfig config;
    private final GroupProducer producer;
    private long lastTakeNanos = System.nanoTime();

    /** One generation batch as the loop trains on it. */
    public record Batch(List<PromptRow> rows, List<Completion> completions, Map<String, Double> metrics,
            double waitSeconds, double intervalSeconds) {}

    /**
     * @param versionsPerBatch the weight versions one generation batch advances (optimizer steps over it)
     * @param version          the version training starts from, already on every server
     */
    public AsyncGeneration(TrainerConfig config, GroupSource source, Supplier<DrawnPrompt> prompts,
            Function<PromptRow, Prompt> toPrompt, int versionsPerBatch, long version) {
        this.config = config;
        StalenessBudget budget = new StalenessBudget(config.generationBatchSize() / config.numGenerations(),
                versionsPerBatch, config.maxStaleness());
        GroupProducer.Settings settings = new GroupProducer.Settings(budget, config.numGenerations(),
                config.maxCompletionLength(), Math.max(config.maxInflightTasks(), config.numGenerations()),
                config.queueMaxsize(), Duration.ofMillis((long) (config.rolloutLivenessTimeoutSeconds() * 1000)));
        this.producer = new GroupProducer(source, prompts, toPrompt, this::sampling, settings, version);
    }

    /** The sampling parameters of group {@code index}: the config's, with a seed of its own. */
    private SamplingParams sampling(long index) {
        return StepRollouts.samplingParams(config, config.seed() * 1_000_003L + index);
    }

    /** The next generation batch for the policy at {@code policyVersion}; blocks while not enough groups are ready. */
    public Batch take(long policyVersion) {
        ReadyBatch ready = producer.take(policyVersion);
        long now = System.nanoTime();
        double interval = (now - lastTakeNanos) / 1e9;
        lastTakeNanos = now;
        List<PromptRow> rows = new ArrayList<>();
        List<Completion> completions = new ArrayList<>();
        for (Group g : ready.groups()) {
            int position = rows.size();
            rows.add(g.row());
            for (Completion c : g.completions()) {
                completions.add(c.toBuilder().setPromptIndex(position).build());
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>(Staleness.of(completions, policyVersion).metrics());
        metrics.put("async/queue_size", (double) ready.queuedCompletions());
        metrics.put("async/inflight_completions", (double) producer.inFlightCompletions());
        metrics.put("async/dropped_groups", (double) ready.droppedGroups());
        metrics.put("async/regenerated_groups", (double) ready.regeneratedGroups());
        metrics.put("time/wait_for_rollouts", ready.waitSeconds());
        return new Batch(rows, completions, metrics, ready.waitSeconds(), interval);
    }

    /** See {@link GroupProducer#withUntrainedDraws}. */
    public <T> T withUntrainedDraws(Function<java.util.Set<Long>, T> f) {
        return producer.withUntrainedDraws(f);
    }

    /** True when the weights after optimizer step {@code step} are to be pushed ({@code weight_sync_steps}). */
    public boolean syncDue(int step) {
        return step % config.weightSyncSteps() == 0;
    }

    /** Every server in use holds {@code version} now. */
    public void published(long version) {
        producer.published(version);
    }

    @Override
    public void close() {
        producer.close();
    }
}
