package dev.rollout.trainer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.rollout.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
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
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

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
        Map<String, Object> raw = new LinkedHashMap<>();
        flatten(readYaml(yaml, null), "", raw);
        for (String override : overrides) {
            applyOverride(override, raw);
        }
        List<String> deprecations = new ArrayList<>();
        resolveOtherNames(raw, deprecations);

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
                throw unknownKey(entry.getKey());
            }
            values.put(key.name(), key.parse(entry.getValue()));
        }
        TrainerConfig config = new TrainerConfig(Collections.unmodifiableMap(values), List.copyOf(deprecations),
                java.util.Set.copyOf(raw.keySet()));
        config.checkConsistency();
        ConfigWarnings.of(config).forEach(LOG::warn);
        return config;
    }

    // ---- reading ----

    private static Object readYaml(String text, String key) {
        try {
            return text.isBlank() ? null : YAML.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ConfigException(key, "not valid YAML" + where + ": " + e.getOriginalMessage());
        }
    }

    private static void flatten(Object node, String prefix, Map<String, Object> out) {
        if (node == null) {
            return;
        }
        if (!(node instanceof Map<?, ?> map)) {
            throw new ConfigException(null, "the config must be a YAML mapping of keys to values, got: " + node);
        }
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String name = prefix + entry.getKey();
            if (entry.getValue() instanceof Map<?, ?> && prefix.isEmpty() && ConfigKeys.SECTIONS.contains(name)) {
                flatten(entry.getValue(), name + ".", out);
            } else if (entry.getValue() instanceof Map<?, ?> && prefix.isEmpty() && ConfigKeys.MAPPINGS.contains(name)) {
                out.put(name, entry.getValue());
            } else if (entry.getValue() instanceof Map<?, ?>) {
                throw ConfigKeys.get(name) == null && !ConfigKeys.SECTIONS.contains(name)
                        ? unknownKey(name)
                        : new ConfigException(name, "takes a single value, not a mapping");
            } else {
                out.put(name, entry.getValue());
            }
        }
    }

    private static void applyOverride(String override, Map<String, Object> raw) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException(null, "an override must look like key=value, got '" + override + "'");
        }
        String key = override.substring(0, eq).strip();
        String text = override.substring(eq + 1).strip();
        // the value is read as a YAML scalar or flow list, as it would be in the file
        raw.put(key, text.isEmpty() ? null : readYaml(text, key));
    }

    private static void resolveOtherNames(Map<String, Object> raw, List<String> deprecations) {
        for (Map.Entry<String, String> legacy : ConfigKeys.LEGACY.entrySet()) {
            if (raw.containsKey(legacy.getKey())) {
                String message = "config key '" + legacy.getKey() + "' is deprecated; use '" + legacy.getValue() + "' instead";
                LOG.warn(message);
                deprecations.add(message);
                rename(raw, legacy.getKey(), legacy.getValue());
            }
        }
        for (Map.Entry<String, String> alias : ConfigKeys.ALIASES.entrySet()) {
            if (raw.containsKey(alias.getKey())) {
                rename(raw, alias.getKey(), alias.getValue());
            }
        }
    }

    private static void rename(Map<String, Object> raw, String from, String to) {
        Object value = raw.remove(from);
        Object current = raw.get(to);
        if (current != null && !current.equals(value)) {
            throw new ConfigException(from, "conflicts with '" + to + "' (" + value + " vs " + current + "); set only '" + to + "'");
        }
        raw.put(to, value);
    }

    private static ConfigException unknownKey(String name) {
        String nearest = ConfigKeys.ALL.stream().map(ConfigKey::name)
                .min(Comparator.comparingInt(known -> editDistance(known, name))).orElseThrow();
        String hint = editDistance(nearest, name) <= Math.max(2, name.length() / 4) ? " Did you mean '" + nearest + "'?" : "";
        return new ConfigException(name, "unknown key." + hint + " Every key is listed in docs/configuration.md.");
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    // ---- checks across keys ----

    private void checkConsistency() {
        if (!(topP() > 0)) {
            throw new ConfigException("top_p", "must be in (0, 1]; got " + topP());
        }
        if (rewardWeights() != null && rewardWeights().size() != rewardFuncs().size()) {
            throw new ConfigException("reward_weights", "has " + rewardWeights().size() + " weights for "
                    + rewardFuncs().size() + " reward functions " + rewardFuncs() + "; give one weight per function");
        }
        if (rewardFuncs().isEmpty()) {
            throw new ConfigException("reward_funcs", "must name at least one reward function");
        }
        if (rewardNames() != null && rewardNames().size() != rewardFuncs().size()) {
            throw new ConfigException("reward_names", "has " + rewardNames().size() + " names for "
                    + rewardFuncs().size() + " reward functions " + rewardFuncs() + "; give one name per function");
        }
        for (String entry : rewardKwargs().keySet()) {
            if (!rewardFuncs().contains(entry)) {
                throw new ConfigException("reward_kwargs", "has arguments for '" + entry + "', which is not in reward_funcs "
                        + rewardFuncs() + "; key each entry by its reward_funcs entry, spelled the same");
            }
        }
        checkGenerationBatch();
        checkObjective();
        Double clipMin = samplingCorrectionClipMin();
        Double clipMax = samplingCorrectionClipMax();
        if (clipMin != null && clipMax != null && clipMin >= clipMax) {
            throw new ConfigException("vllm_importance_sampling_clip_min", "(" + clipMin
                    + ") must be less than vllm_importance_sampling_clip_max (" + clipMax + ")");
        }
        if (samplingCorrection() && samplingCorrectionMode().truncates() && clipMin == null && clipMax == null) {
            throw new ConfigException("vllm_importance_sampling_mode", samplingCorrectionMode().configName()
                    + " needs vllm_importance_sampling_clip_min or vllm_importance_sampling_clip_max to be set");
        }
        if (epsilon() >= 1.0) {
            throw new ConfigException("epsilon", "must be below 1 (the ratio is clipped at 1 − epsilon); got " + epsilon());
        }
        if (rolloutAuthToken() != null && rolloutAuthTokenFile() != null) {
            throw new ConfigException("rollout.auth_token", "set either rollout.auth_token or rollout.auth_token_file, not both");
        }
        for (String server : rolloutServers()) {
            int colon = server.lastIndexOf(':');
            if (colon <= 0 || !server.substring(colon + 1).matches("\\d{1,5}")
                    || Integer.parseInt(server.substring(colon + 1)) > 65535) {
                throw new ConfigException("rollout.servers", "each server must be host:port, got '" + server + "'");
            }
        }
        if (loraDropout() >= 1.0) {
            throw new ConfigException("lora_dropout", "must be below 1; got " + loraDropout());
        }
        try {
            LoraConfig.parseTargets(loraTargetModules());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("lora_target_modules", e.getMessage().replace("lora_target_modules: ", ""));
        }
        if (rolloutRetryMaxBackoffSeconds() < rolloutRetryBackoffSeconds()) {
            throw new ConfigException("rollout.retry_max_backoff_seconds", "must be at least rollout.retry_backoff_seconds");
        }
    }

    private void checkGenerationBatch() {
        Integer steps = (Integer) values.get("steps_per_generation");
        Integer size = (Integer) values.get("generation_batch_size");
        if (steps != null && size != null) {
            throw new ConfigException("steps_per_generation", "and generation_batch_size cannot both be set; set one");
        }
        if (size != null && size % perDeviceTrainBatchSize() != 0) {
            throw new ConfigException("generation_batch_size", "(" + size
                    + ") must be a multiple of per_device_train_batch_size (" + perDeviceTrainBatchSize() + ")");
        }
        if (stepsPerGeneration() % gradientAccumulationSteps() != 0) {
            throw new ConfigException(steps != null ? "steps_per_generation" : "generation_batch_size",
                    "gives " + stepsPerGeneration() + " micro-batches per generation batch, which must be a multiple of"
                            + " gradient_accumulation_steps (" + gradientAccumulationSteps()
                            + ") so that every optimizer step uses one generation batch");
        }
        int generationBatch = generationBatchSize();
        if (generationBatch % numGenerations() != 0) {
            String key = steps == null && size == null ? "per_device_train_batch_size" : "generation_batch_size";
            String what = steps == null && size == null
                    ? "× gradient_accumulation_steps = " + generationBatch + " completions per step"
                    : "(" + generationBatch + " completions)";
            throw new ConfigException(key, what + " must be a multiple of num_generations (" + numGenerations() + ")");
        }
    }

    private void checkObjective() {
        if (syncRefModel() && beta() == 0.0) {
            throw new ConfigException("sync_ref_model", "is true while beta = 0, so there is no reference model to"
                    + " synchronize; set sync_ref_model: false, or a non-zero beta");
        }
        if (syncRefModel() && usePeft()) {
            // as TRL: with an adapter the reference is the base itself (the adapter off), which has nothing to mix in
            throw new ConfigException("sync_ref_model", "is true while use_peft is true, which TRL does not support either:"
                    + " the reference is the frozen base with the adapter off; set sync_ref_model: false");
        }
        if (lossType() == LossType.VESPO && samplingCorrection() && samplingCorrectionMode().sequenceLevel()) {
            throw new ConfigException("loss_type", "vespo needs vllm_importance_sampling_mode token_truncate or"
                    + " token_mask (it folds the token-level correction into its weight); got "
                    + samplingCorrectionMode().configName());
        }
        List<Double> clip = rewardClipRange();
        if (clip != null && (clip.size() != 2 || clip.get(0) > clip.get(1))) {
            throw new ConfigException("reward_clip_range", "must be [min, max] with min <= max, got " + clip);
        }
        if (trainer() == TrainerType.RLOO && multiObjectiveAggregation() != MultiObjectiveAggregation.SUM_THEN_NORMALIZE) {
            throw new ConfigException("multi_objective_aggregation", "is a GRPO option; RLOO sums the weighted rewards");
        }
    }

    // ---- access ----

    /** The value of any key by name, as parsed (for generic consumers such as a config dump). */
    public Object get(String key) {
        if (!values.containsKey(key)) {
            throw unknownKey(key);
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
