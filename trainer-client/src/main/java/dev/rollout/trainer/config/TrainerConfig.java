package dev.rollout.trainer.config;

import dev.rollout.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's configuration: a YAML file with TRL's snake_case keys, then {@code --set key=value} overrides
 * (dotted keys for sections), then defaults for what is left out. Every value is checked on load; an unknown key or a
 * bad value is a {@link ConfigException} naming the key and what it accepts.
 */
public final class TrainerConfig {
    private static final Logger LOG = LoggerFactory.getLogger(TrainerConfig.class);

    private final Map<String, Object> values;
    private final List<String> deprecations;
    private final java.util.Set<String> given;

    private TrainerConfig(Map<String, Object> values, List<String> deprecations, java.util.Set<String> given) {
        this.values = values;
        this.deprecations = deprecations;
        this.given = given;
    }

    /** Every key with its accepted values, default and meaning, in documentation order. */
    public static List<ConfigKey> keys() {
        return ConfigKeys.ALL;
    }

    public static TrainerConfig load(Path file, List<String> overrides) throws IOException {
        return parse(Files.readString(file), overrides);
    }

    /** All defaults, plus overrides. */
    public static TrainerConfig defaults(List<String> overrides) {
        return parse("", overrides);
    }

    public static TrainerConfig parse(String yaml, List<String> overrides) {
        List<String> deprecations = new ArrayList<>();
        Map<String, Object> raw = ConfigReader.read(yaml, overrides, deprecations);

        Object trainerRaw = raw.get("trainer");
        TrainerType trainer = trainerRaw == null
                ? TrainerType.GRPO
                : (TrainerType) ConfigKeys.get("trainer").parse(trainerRaw);
        Map<String, Object> values = new LinkedHashMap<>();
        for (ConfigKey key : ConfigKeys.ALL) {
            values.put(key.name(), key.defaultFor(trainer));
        }
        for (Map.Entry<String, Object> entry : raw.entrySet()) {
            ConfigKey key = ConfigKeys.get(entry.getKey());
            if (key == null) {
                throw ConfigReader.unknownKey(entry.getKey());
            }
            values.put(key.name(), key.parse(entry.getValue()));
        }
        TrainerConfig config = new TrainerConfig(Collections.unmodifiableMap(values), List.copyOf(deprecations),
                java.util.Set.copyOf(raw.keySet()));
        ConfigChecks.check(config);
        ConfigWarnings.of(config).forEach(LOG::warn);
        return config;
    }

    // ---- access ----

    /** The value of any key by name, as parsed (for generic consumers such as a config dump). */
    public Object get(String key) {
        if (!values.containsKey(key)) {
            throw ConfigReader.unknownKey(key);
        }
        return values.get(key);
    }

    /** True when the file or an override set {@code key} (under its name or an old one), false when it has its default. */
    public boolean isGiven(String key) {
        return given.contains(key);
    }

    /** Every key's value, in documentation order. */
    public Map<String, Object> asMap() {
        return values;
    }

    /** Deprecation warnings raised while reading (also logged). */
    public List<String> deprecations() {
        return deprecations;
    }

    private int i(String key) {
        return (Integer) values.get(key);
    }

    private double d(String key) {
        return (Double) values.get(key);
    }

    private boolean b(String key) {
        return (Boolean) values.get(key);
    }

    private String s(String key) {
        return (String) values.get(key);
    }

    @SuppressWarnings("unchecked")
    private List<String> strings(String key) {
        return (List<String>) values.get(key);
    }

    public TrainerType trainer() { return (TrainerType) values.get("trainer"); }
    public String model() { return s("model"); }
    public String dataset() { return s("dataset"); }
    public boolean shuffleDataset() { return b("shuffle_dataset"); }
    public List<String> rewardFuncs() { return strings("reward_funcs"); }

    /** One weight per reward function; 1.0 each when the config gives none. */
    @SuppressWarnings("unchecked")
    public List<Double> rewardWeights() { return (List<Double>) values.get("reward_weights"); }

    public List<Double> effectiveRewardWeights() {
        return rewardWeights() != null ? rewardWeights() : Collections.nCopies(rewardFuncs().size(), 1.0);
    }

    public List<String> rewardNames() { return strings("reward_names"); }

    /** Constructor arguments by reward_funcs entry; empty when the config gives none. */
    @SuppressWarnings("unchecked")
    public Map<String, Map<String, Object>> rewardKwargs() {
        Object kwargs = values.get("reward_kwargs");
        return kwargs == null ? Map.of() : (Map<String, Map<String, Object>>) kwargs;
    }

    public List<String> rewardClasspath() { return strings("reward_classpath"); }
    public RewardErrors rewardErrors() { return (RewardErrors) values.get("reward_errors"); }
    public double remoteRewardsTimeoutSeconds() { return d("remote_rewards.timeout_seconds"); }
    public int remoteRewardsMaxAttempts() { return i("remote_rewards.max_attempts"); }
    public double remoteRewardsRetryBackoffSeconds() { return d("remote_rewards.retry_backoff_seconds"); }
    public int remoteRewardsBatchSize() { return i("remote_rewards.batch_size"); }
    public int remoteRewardsMaxConcurrency() { return i("remote_rewards.max_concurrency"); }
    public String remoteRewardsAuthTokenFile() { return s("remote_rewards.auth_token_file"); }
    public String formatPattern() { return s("format_pattern"); }
    public int lengthTargetTokens() { return i("length_target_tokens"); }
    public int numGenerations() { return i("num_generations"); }
    public int maxPromptLength() { return i("max_prompt_length"); }
    public int maxCompletionLength() { return i("max_completion_length"); }
    public double temperature() { return d("temperature"); }
    public double topP() { return d("top_p"); }
    public int topK() { return i("top_k"); }
    /** {@code stop_token_ids} as ids; empty when null (checked to be token ids in {@link ConfigChecks}). */
    @SuppressWarnings("unchecked")
    public List<Integer> stopTokenIds() {
        List<Double> ids = (List<Double>) values.get("stop_token_ids");
        return ids == null ? List.of() : ids.stream().map(Double::intValue).toList();
    }
    public double minP() { return d("min_p"); }
    public double learningRate() { return d("learning_rate"); }
    public double beta() { return d("beta"); }
    public double epsilon() { return d("epsilon"); }

    /** The upper clipping range; equal to {@link #epsilon()} unless set. */
    public double epsilonHigh() {
        Double high = (Double) values.get("epsilon_high");
        return high != null ? high : epsilon();
    }

    public LossType lossType() { return (LossType) values.get("loss_type"); }
    public ScaleRewards scaleRewards() { return (ScaleRewards) values.get("scale_rewards"); }
    public ImportanceSamplingLevel importanceSamplingLevel() { return (ImportanceSamplingLevel) values.get("importance_sampling_level"); }
    public int numIterations() { return i("num_iterations"); }
    public boolean maskTruncatedCompletions() { return b("mask_truncated_completions"); }
    public boolean normalizeAdvantages() { return b("normalize_advantages"); }

    /** RLOO's [min, max] reward clip, or null. */
    @SuppressWarnings("unchecked")
    public List<Double> rewardClipRange() { return (List<Double>) values.get("reward_clip_range"); }

    public Double delta() { return (Double) values.get("delta"); }
    public double sapoTemperaturePos() { return d("sapo_temperature_pos"); }
    public double sapoTemperatureNeg() { return d("sapo_temperature_neg"); }
    public double vespoKPos() { return d("vespo_k_pos"); }
    public double vespoLambdaPos() { return d("vespo_lambda_pos"); }
    public double vespoKNeg() { return d("vespo_k_neg"); }
    public double vespoLambdaNeg() { return d("vespo_lambda_neg"); }
    public double topEntropyQuantile() { return d("top_entropy_quantile"); }
    public Double offPolicyMaskThreshold() { return (Double) values.get("off_policy_mask_threshold"); }
    public boolean useBiasCorrectionKl() { return b("use_bias_correction_kl"); }
    public MultiObjectiveAggregation multiObjectiveAggregation() { return (MultiObjectiveAggregation) values.get("multi_objective_aggregation"); }
    public boolean syncRefModel() { return b("sync_ref_model"); }
    public double refModelMixupAlpha() { return d("ref_model_mixup_alpha"); }
    public int refModelSyncSteps() { return i("ref_model_sync_steps"); }
    public boolean samplingCorrection() { return b("vllm_importance_sampling_correction"); }
    public SamplingCorrectionMode samplingCorrectionMode() { return (SamplingCorrectionMode) values.get("vllm_importance_sampling_mode"); }
    public Double samplingCorrectionClipMax() { return (Double) values.get("vllm_importance_sampling_clip_max"); }
    public Double samplingCorrectionClipMin() { return (Double) values.get("vllm_importance_sampling_clip_min"); }
    public int perDeviceTrainBatchSize() { return i("per_device_train_batch_size"); }
    public int gradientAccumulationSteps() { return i("gradient_accumulation_steps"); }

    /** Micro-batches per generation batch: steps_per_generation, or derived from generation_batch_size, or GA. */
    public int stepsPerGeneration() {
        Integer steps = (Integer) values.get("steps_per_generation");
        Integer size = (Integer) values.get("generation_batch_size");
        if (steps != null) {
            return steps;
        }
        return size != null ? size / perDeviceTrainBatchSize() : gradientAccumulationSteps();
    }

    /** Completions per generation batch: per_device_train_batch_size × steps_per_generation. */
    public int generationBatchSize() { return perDeviceTrainBatchSize() * stepsPerGeneration(); }
    public double maxGradNorm() { return d("max_grad_norm"); }
    public double weightDecay() { return d("weight_decay"); }
    public double adamBeta1() { return d("adam_beta1"); }
    public double adamBeta2() { return d("adam_beta2"); }
    public double adamEpsilon() { return d("adam_epsilon"); }
    public String lrSchedulerType() { return s("lr_scheduler_type"); }
    public int warmupSteps() { return i("warmup_steps"); }
    public int maxSteps() { return i("max_steps"); }
    public double numTrainEpochs() { return d("num_train_epochs"); }
    public long seed() { return (Long) values.get("seed"); }
    public String outputDir() { return s("output_dir"); }
    public int saveSteps() { return i("save_steps"); }
    public int loggingSteps() { return i("logging_steps"); }
    public String device() { return s("device"); }
    public boolean asyncGeneration() { return b("async_generation"); }
    public int maxStaleness() { return i("max_staleness"); }

    /** Completions in flight at once in async mode: max_inflight_tasks, or when -1 max_staleness generation batches. */
    public int maxInflightTasks() {
        int set = i("max_inflight_tasks");
        return set > 0 ? set : Math.max(1, maxStaleness()) * generationBatchSize();
    }
    public int queueMaxsize() { return i("queue_maxsize"); }
    public int weightSyncSteps() { return i("weight_sync_steps"); }
    public RolloutMode rolloutMode() { return (RolloutMode) values.get("rollout.mode"); }
    public List<String> rolloutServers() { return strings("rollout.servers"); }
    public String rolloutAuthToken() { return s("rollout.auth_token"); }
    public String rolloutAuthTokenFile() { return s("rollout.auth_token_file"); }

    /** True when every request must be served by the weights last pushed (rollout.min_weight_version = current). */
    public boolean requireCurrentWeights() { return "current".equals(s("rollout.min_weight_version")); }

    public String rolloutCaFile() { return s("rollout.ca_file"); }
    public int rolloutMaxAttempts() { return i("rollout.max_attempts"); }
    public double rolloutRetryBackoffSeconds() { return d("rollout.retry_backoff_seconds"); }
    public double rolloutRetryMaxBackoffSeconds() { return d("rollout.retry_max_backoff_seconds"); }
    public double rolloutRequestTimeoutSeconds() { return d("rollout.request_timeout_seconds"); }
    public double rolloutLivenessTimeoutSeconds() { return d("rollout.liveness_timeout_seconds"); }
    public int rolloutSyncChunkBytes() { return i("rollout.sync_chunk_bytes"); }
    public boolean usePeft() { return b("use_peft"); }
    public int loraR() { return i("lora_r"); }
    public double loraAlpha() { return d("lora_alpha"); }
    public double loraDropout() { return d("lora_dropout"); }
    public List<String> loraTargetModules() { return strings("lora_target_modules"); }
    public boolean useRslora() { return b("use_rslora"); }
    public boolean saveMergedModel() { return b("save_merged_model"); }

    /** The adapter the lora_* keys describe (meaningful with use_peft). */
    public LoraConfig loraConfig() {
        return new LoraConfig(loraR(), loraAlpha(), loraDropout(), LoraConfig.parseTargets(loraTargetModules()), useRslora());
    }
    public boolean useContinuousBatching() { return b("use_continuous_batching"); }
    public int continuousBatchingBlockSize() { return i("continuous_batching.block_size"); }
    public double continuousBatchingMaxMemoryPercent() { return d("continuous_batching.max_memory_percent"); }
    public int continuousBatchingMaxBatchTokens() { return i("continuous_batching.max_batch_tokens"); }
}
