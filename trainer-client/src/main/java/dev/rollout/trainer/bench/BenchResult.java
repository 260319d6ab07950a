package dev.rollout.trainer.bench;

import com.fasterxml.jackson.annotation.JsonProperty;

/** One run's numbers, as {@code rl-bench.json} writes them (snake_case keys). */
public record BenchResult(
        String name,
        String mode,
        @JsonProperty("max_staleness") int maxStaleness,
        @JsonProperty("inflight_weight_update") String inflightWeightUpdate,
        @JsonProperty("measured_steps") int measuredSteps,
        @JsonProperty("measured_seconds") double measuredSeconds,
        @JsonProperty("steps_per_minute") double stepsPerMinute,
        @JsonProperty("generated_tokens_per_second") double generatedTokensPerSecond,
        @JsonProperty("trainer_idle_fraction") double trainerIdleFraction,
        @JsonProperty("server_idle_fraction") double serverIdleFraction,
        @JsonProperty("staleness_max") double stalenessMax,
        @JsonProperty("reward_first") double rewardFirst,
        @JsonProperty("reward_last") double rewardLast,
        /** The trainer's busy time per step (time/train: scoring, loss, backward, optimizer), mean over the steps. */
        @JsonProperty("train_seconds_per_step") double trainSecondsPerStep,
        /** The weight push per step (time/sync), mean over the steps. */
        @JsonProperty("sync_seconds_per_step") double syncSecondsPerStep,
        /** CPU seconds the trainer process used per step (all its threads), independent of how loaded its core was. */
        @JsonProperty("trainer_cpu_seconds_per_step") double trainerCpuSecondsPerStep,
        /** CPU seconds the server process used per step. */
        @JsonProperty("server_cpu_seconds_per_step") double serverCpuSecondsPerStep,
        @JsonProperty("completion_length") LengthStats completionLength) {}
