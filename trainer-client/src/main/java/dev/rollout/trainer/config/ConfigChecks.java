package dev.rollout.trainer.config;

import dev.rollout.lora.LoraConfig;
import java.util.List;

/**
 * The checks that span several keys, run once every key has parsed on its own; each failure names the key to change
 * and how.
 */
final class ConfigChecks {
    private ConfigChecks() {
    }

    static void check(TrainerConfig config) {
        if (!(config.topP() > 0)) {
            throw new ConfigException("top_p", "must be in (0, 1]; got " + config.topP());
        }
        if (config.rewardWeights() != null && config.rewardWeights().size() != config.rewardFuncs().size()) {
            throw new ConfigException("reward_weights", "has " + config.rewardWeights().size() + " weights for "
                    + config.rewardFuncs().size() + " reward functions " + config.rewardFuncs() + "; give one weight per function");
        }
        if (config.rewardFuncs().isEmpty()) {
            throw new ConfigException("reward_funcs", "must name at least one reward function");
        }
        if (config.rewardNames() != null && config.rewardNames().size() != config.rewardFuncs().size()) {
            throw new ConfigException("reward_names", "has " + config.rewardNames().size() + " names for "
                    + config.rewardFuncs().size() + " reward functions " + config.rewardFuncs() + "; give one name per function");
        }
        for (String entry : config.rewardKwargs().keySet()) {
            if (!config.rewardFuncs().contains(entry)) {
                throw new ConfigException("reward_kwargs", "has arguments for '" + entry + "', which is not in reward_funcs "
                        + config.rewardFuncs() + "; key each entry by its reward_funcs entry, spelled the same");
            }
        }
        checkStopTokenIds(config);
        checkGenerationBatch(config);
        checkObjective(config);
        Double clipMin = config.samplingCorrectionClipMin();
        Double clipMax = config.samplingCorrectionClipMax();
        if (clipMin != null && clipMax != null && clipMin >= clipMax) {
            throw new ConfigException("vllm_importance_sampling_clip_min", "(" + clipMin
                    + ") must be less than vllm_importance_sampling_clip_max (" + clipMax + ")");
        }
        if (config.samplingCorrection() && config.samplingCorrectionMode().truncates() && clipMin == null && clipMax == null) {
            throw new ConfigException("vllm_importance_sampling_mode", config.samplingCorrectionMode().configName()
                    + " needs vllm_importance_sampling_clip_min or vllm_importance_sampling_clip_max to be set");
        }
        if (config.epsilon() >= 1.0) {
            throw new ConfigException("epsilon", "must be below 1 (the ratio is clipped at 1 − epsilon); got " + config.epsilon());
        }
        if (config.rolloutAuthToken() != null && config.rolloutAuthTokenFile() != null) {
            throw new ConfigException("rollout.auth_token", "set either rollout.auth_token or rollout.auth_token_file, not both");
        }
        for (String server : config.rolloutServers()) {
            int colon = server.lastIndexOf(':');
            if (colon <= 0 || !server.substring(colon + 1).matches("\\d{1,5}")
                    || Integer.parseInt(server.substring(colon + 1)) > 65535) {
                throw new ConfigException("rollout.servers", "each server must be host:port, got '" + server + "'");
            }
        }
        if (config.loraDropout() >= 1.0) {
            throw new ConfigException("lora_dropout", "must be below 1; got " + config.loraDropout());
        }
        try {
            LoraConfig.parseTargets(config.loraTargetModules());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("lora_target_modules", e.getMessage().replace("lora_target_modules: ", ""));
        }
        checkAsync(config);
        if (config.rolloutRetryMaxBackoffSeconds() < config.rolloutRetryBackoffSeconds()) {
            throw new ConfigException("rollout.retry_max_backoff_seconds", "must be at least rollout.retry_backoff_seconds");
        }
    }

    private static void checkAsync(TrainerConfig config) {
        if (!config.asyncGeneration()) {
            return;
        }
        if (config.rolloutMode() == RolloutMode.COLOCATE) {
            throw new ConfigException("async_generation", "needs rollout.mode: server; a colocated engine shares the trainer's"
                    + " device and weights, so generation and training cannot overlap there. Set async_generation: false,"
                    + " or run rollout servers (rollout.mode: server)");
        }
        if ((Integer) config.get("max_inflight_tasks") == 0) {
            throw new ConfigException("max_inflight_tasks", "must be -1 (auto) or at least num_generations ("
                    + config.numGenerations() + "); got 0");
        }
        int inflight = (Integer) config.get("max_inflight_tasks");
        if (inflight > 0 && inflight < config.numGenerations()) {
            throw new ConfigException("max_inflight_tasks", "(" + inflight + ") must be at least num_generations ("
                    + config.numGenerations() + "): a group's completions are generated together");
        }
        if (config.maxStaleness() < config.weightSyncSteps() - 1) {
            throw new ConfigException("max_staleness", "(" + config.maxStaleness() + ") must be at least weight_sync_steps − 1 ("
                    + (config.weightSyncSteps() - 1) + "): between two pushes the servers' weights fall that many versions"
                    + " behind, and no group could start");
        }
        if (config.queueMaxsize() < config.generationBatchSize()) {
            throw new ConfigException("queue_maxsize", "(" + config.queueMaxsize() + ") must hold at least one generation batch ("
                    + config.generationBatchSize() + " completions), or the trainer would wait forever for a full one");
        }
    }

    private static void checkGenerationBatch(TrainerConfig config) {
        Integer steps = (Integer) config.get("steps_per_generation");
        Integer size = (Integer) config.get("generation_batch_size");
        if (steps != null && size != null) {
            throw new ConfigException("steps_per_generation", "and generation_batch_size cannot both be set; set one");
        }
        if (size != null && size % config.perDeviceTrainBatchSize() != 0) {
            throw new ConfigException("generation_batch_size", "(" + size
                    + ") must be a multiple of per_device_train_batch_size (" + config.perDeviceTrainBatchSize() + ")");
        }
        if (config.stepsPerGeneration() % config.gradientAccumulationSteps() != 0) {
            throw new ConfigException(steps != null ? "steps_per_generation" : "generation_batch_size",
                    "gives " + config.stepsPerGeneration() + " micro-batches per generation batch, which must be a multiple of"
                            + " gradient_accumulation_steps (" + config.gradientAccumulationSteps()
                            + ") so that every optimizer step uses one generation batch");
        }
        int generationBatch = config.generationBatchSize();
        if (generationBatch % config.numGenerations() != 0) {
            String key = steps == null && size == null ? "per_device_train_batch_size" : "generation_batch_size";
            String what = steps == null && size == null
                    ? "× gradient_accumulation_steps = " + generationBatch + " completions per step"
                    : "(" + generationBatch + " completions)";
            throw new ConfigException(key, what + " must be a multiple of num_generations (" + config.numGenerations() + ")");
        }
    }

    private static void checkObjective(TrainerConfig config) {
        if (config.syncRefModel() && config.beta() == 0.0) {
            throw new ConfigException("sync_ref_model", "is true while beta = 0, so there is no reference model to"
                    + " synchronize; set sync_ref_model: false, or a non-zero beta");
        }
        if (config.syncRefModel() && config.usePeft()) {
            // as TRL: with an adapter the reference is the base itself (the adapter off), which has nothing to mix in
            throw new ConfigException("sync_ref_model", "is true while use_peft is true, which TRL does not support either:"
                    + " the reference is the frozen base with the adapter off; set sync_ref_model: false");
        }
        if (config.lossType() == LossType.VESPO && config.samplingCorrection() && config.samplingCorrectionMode().sequenceLevel()) {
            throw new ConfigException("loss_type", "vespo needs vllm_importance_sampling_mode token_truncate or"
                    + " token_mask (it folds the token-level correction into its weight); got "
                    + config.samplingCorrectionMode().configName());
        }
        List<Double> clip = config.rewardClipRange();
        if (clip != null && (clip.size() != 2 || clip.get(0) > clip.get(1))) {
            throw new ConfigException("reward_clip_range", "must be [min, max] with min <= max, got " + clip);
        }
        if (config.trainer() == TrainerType.RLOO && config.multiObjectiveAggregation() != MultiObjectiveAggregation.SUM_THEN_NORMALIZE) {
            throw new ConfigException("multi_objective_aggregation", "is a GRPO option; RLOO sums the weighted rewards");
        }
    }

    @SuppressWarnings("unchecked")
    private static void checkStopTokenIds(TrainerConfig config) {
        List<Double> ids = (List<Double>) config.get("stop_token_ids");
        if (ids == null) {
            return;
        }
        for (double id : ids) {
            if (id < 0 || id != Math.rint(id) || id > Integer.MAX_VALUE) {
                throw new ConfigException("stop_token_ids", "must list token ids (integers >= 0); got " + id);
            }
        }
    }
}
