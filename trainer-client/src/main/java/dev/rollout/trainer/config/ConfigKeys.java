package dev.rollout.trainer.config;

import static dev.rollout.trainer.config.ConfigKey.bool;
import static dev.rollout.trainer.config.ConfigKey.choice;
import static dev.rollout.trainer.config.ConfigKey.integer;
import static dev.rollout.trainer.config.ConfigKey.longInteger;
import static dev.rollout.trainer.config.ConfigKey.mapping;
import static dev.rollout.trainer.config.ConfigKey.number;
import static dev.rollout.trainer.config.ConfigKey.numbers;
import static dev.rollout.trainer.config.ConfigKey.positive;
import static dev.rollout.trainer.config.ConfigKey.scaleRewards;
import static dev.rollout.trainer.config.ConfigKey.text;
import static dev.rollout.trainer.config.ConfigKey.word;
import static dev.rollout.trainer.config.ConfigKey.words;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every key the trainer's YAML accepts, in documentation order, with TRL's names and defaults (GRPOConfig / RLOOConfig
 * and the transformers TrainingArguments they extend). Keys inside a section are written nested in YAML
 * ({@code rollout: {mode: server}}) and dotted on the command line ({@code --set rollout.mode=server}).
 */
final class ConfigKeys {
    static final double INF = Double.POSITIVE_INFINITY;

    /** Sections: a YAML mapping under one of these names holds the dotted keys {@code section.key}. */
    static final Set<String> SECTIONS = Set.of("rollout", "continuous_batching", "remote_rewards");

    /** Keys whose value is itself a YAML mapping (kept whole, not read as a section). */
    static final Set<String> MAPPINGS = Set.of("reward_kwargs");

    /** Old spellings still accepted, each mapped to its current key with a deprecation warning. */
    static final Map<String, String> LEGACY = Map.of(
            "use_paged", "use_continuous_batching",
            "use_transformers_paged", "use_continuous_batching",
            "vllm_importance_sampling_cap", "vllm_importance_sampling_clip_max");

    /** Other spellings of the same key, accepted without a warning. */
    static final Map<String, String> ALIASES = Map.of("dataset_path", "dataset");

    static final List<ConfigKey> ALL = List.of(
            // what to train, on what
            choice("trainer", TrainerType.class, TrainerType.GRPO, "The algorithm: GRPO or RLOO."),
            text("model", "tiny", false,
                    "A model directory in the Hugging Face layout (config.json, safetensors, tokenizer.json), or `tiny` for the embedded model."),
            text("dataset", "arithmetic", false,
                    "A JSONL file with a `prompt` column (text or a list of chat messages) and any other columns, or the name of a built-in generator (`arithmetic`). `dataset_path` is accepted as another name for it."),
            bool("shuffle_dataset", true, "Shuffle the prompts each epoch, deterministically from `seed`."),
            words("reward_funcs", List.of("accuracy"),
                    "Reward functions: a built-in name (`accuracy`: the completion's math answer equals the row's `solution` or `answer`; `format`: the completion matches `format_pattern`; `length`: closeness to `length_target_tokens`), the fully qualified name of a class implementing `dev.rollout.trainer.reward.RewardFunction`, or the `http://` / `https://` URL of a reward service (see docs/rewards.md)."),
            numbers("reward_weights", "Weight of each reward function, in the order of `reward_funcs`; null means 1.0 each."),
            words("reward_names", null,
                    "Metric name of each reward function, in the order of `reward_funcs` (`rewards/<name>/mean`); null: the built-in name, the class's `name()` (its simple name unless it says otherwise), or a URL's last path segment."),
            mapping("reward_kwargs",
                    "Constructor arguments of reward classes: a mapping from a `reward_funcs` entry to a mapping of argument names to values, handed to the class's constructor that takes a `Map<String, Object>`."),
            words("reward_classpath", List.of(),
                    "Jars or class directories to load reward classes from, besides the trainer's own classpath (also `--reward-classpath`)."),
            choice("reward_errors", RewardErrors.class, RewardErrors.RAISE,
                    "A reward that throws, returns an infinite value, or whose service fails: `raise` fails the step naming the reward and the completion; `nan` scores the completion NaN for that reward (left out of its means, as a null is) and counts it in `rewards/<name>/errors`."),
            positive("remote_rewards.timeout_seconds", 60.0, 0.0, "Longest wait for a reward service's answer to one request."),
            integer("remote_rewards.max_attempts", 3, 1,
                    "Attempts of one request to a reward service; it is retried after a connection failure, a timeout, HTTP 429 or 5xx."),
            positive("remote_rewards.retry_backoff_seconds", 1.0, 0.0, "First retry delay of a reward service request; it doubles on each retry."),
            integer("remote_rewards.batch_size", 0, 0,
                    "Completions per request to a reward service; 0 sends the whole generation batch in one request."),
            integer("remote_rewards.max_concurrency", 4, 1, "Requests in flight at once to each reward service."),
            text("remote_rewards.auth_token_file", null, true,
                    "File holding a bearer token (one line) sent to reward services as `Authorization: Bearer <token>`; null sends none."),
            text("format_pattern", "^\\s*-?\\d+(?:\\.\\d+)?\\s*$", false,
                    "Java regular expression the `format` reward checks the whole completion against (1.0 on a match, else 0.0)."),
            integer("length_target_tokens", 8, 1,
                    "Completion length, in tokens, at which the `length` reward is 1.0; it falls linearly to 0 at zero and twice this length."),

            // generation
            integer("num_generations", 8, 2, "Completions sampled per prompt (the group size).").withRlooDefault(2),
            integer("max_prompt_length", 512, 1, "Prompts longer than this many tokens keep their last tokens only."),
            integer("max_completion_length", 512, 1, "Most tokens generated per completion."),
            positive("temperature", 1.0, 0.0,
                    "Sampling temperature; the trainer divides its logits by it too, so both sides score the same distribution."),
            number("top_p", 1.0, 0.0, 1.0, false, "Nucleus sampling: keep the smallest set of tokens whose probability reaches this; in (0, 1], 1.0 is off."),
            integer("top_k", 0, 0, "Keep only the k most likely tokens; 0 is off."),
            numbers("stop_token_ids", "Token ids that end a completion besides the model's EOS ids (vLLM's `stop_token_ids`); the stop token is part of the completion. Null: none."),
            number("min_p", 0.0, 0.0, 1.0, false, "Drop tokens less likely than this times the most likely one; 0 is off."),

            // the objective
            positive("learning_rate", 1e-6, 0.0, "Peak AdamW learning rate."),
            number("beta", 0.0, 0.0, INF, false,
                    "KL coefficient against the reference model (the initial weights); 0 loads no reference model. GRPO adds β·k3 per token, RLOO subtracts β·KL from the reward.")
                    .withRlooDefault(0.05),
            number("epsilon", 0.2, 0.0, INF, false, "Lower clipping range: the ratio is clipped at 1 − epsilon."),
            number("epsilon_high", null, 0.0, INF, true, "Upper clipping range: the ratio is clipped at 1 + epsilon_high; null means equal to `epsilon`."),
            choice("loss_type", LossType.class, LossType.DAPO,
                    "GRPO loss. Clipped surrogate, aggregated as: `grpo` (mean over sequences of each sequence's token mean), `bnpo` (token mean over the micro-batch), `dr_grpo` (sum over batch × max_completion_length), `dapo` (sum over the active tokens of the whole generation batch), `luspo` (each sequence's loss times its length, averaged; meant for importance_sampling_level `sequence`). Other objectives: `cispo` (clipped, detached importance weight times A·logp, MiniMax-M1; aggregated as dapo), `sapo` (a sigmoid gate instead of the clip, aggregated as grpo), `vespo` (a gamma weight of the sequence importance weight times A·logp, aggregated as dapo). RLOO's loss is per sequence and ignores it."),
            number("delta", null, 0.0, INF, true,
                    "Two-sided clipping (INTELLECT-2): the ratio in the unclipped term is capped at delta; null is off. Best above 1 + epsilon."),
            positive("sapo_temperature_pos", 1.0, 0.0, "`sapo`: gate temperature for tokens with a positive advantage."),
            positive("sapo_temperature_neg", 1.05, 0.0, "`sapo`: gate temperature for tokens with a zero or negative advantage."),
            number("vespo_k_pos", 2.0, 0.0, INF, false, "`vespo`: power k of the gamma weight for advantages >= 0."),
            number("vespo_lambda_pos", 3.0, 0.0, INF, false, "`vespo`: decay λ of the gamma weight for advantages >= 0."),
            number("vespo_k_neg", 3.0, 0.0, INF, false, "`vespo`: power k of the gamma weight for negative advantages."),
            number("vespo_lambda_neg", 2.0, 0.0, INF, false, "`vespo`: decay λ of the gamma weight for negative advantages."),
            number("top_entropy_quantile", 1.0, 0.0, 1.0, false,
                    "Keep in the policy loss only the tokens whose entropy is in the top quantile ρ of the micro-batch's (Beyond the 80/20 Rule; 0.2 recommended); 1.0 keeps all, 0.0 only the highest."),
            number("off_policy_mask_threshold", null, 0.0, INF, true,
                    "Drop from the loss the sequences with a negative advantage whose mean KL from the sampler's log-probs exceeds this (DeepSeek-V3.2's δ, e.g. 0.5); null is off."),
            bool("use_bias_correction_kl", false, "Multiply the per-token KL by the policy ratio (DeepSeek-V3.2's unbiased KL estimator); needs beta != 0 to matter."),
            choice("multi_objective_aggregation", MultiObjectiveAggregation.class, MultiObjectiveAggregation.SUM_THEN_NORMALIZE,
                    "GRPO with several reward functions: `sum_then_normalize` (weighted sum, then scale_rewards) or `normalize_then_sum` (each function normalised within its group, then the weighted sum normalised over the batch: GDPO)."),
            scaleRewards("scale_rewards", ScaleRewards.GROUP,
                    "GRPO advantage scaling: divide by the group's reward std (`group`), the batch's (`batch`), or not at all (`none`)."),
            choice("importance_sampling_level", ImportanceSamplingLevel.class, ImportanceSamplingLevel.TOKEN,
                    "Policy ratio per token (`token`) or one per sequence from the mean log-ratio (`sequence`, GSPO)."),
            bool("sync_ref_model", false,
                    "Move the reference model towards the policy every ref_model_sync_steps optimizer steps (TR-DPO): ref = α·policy + (1 − α)·ref. Needs beta != 0."),
            number("ref_model_mixup_alpha", 0.6, 0.0, 1.0, false, "α of sync_ref_model."),
            integer("ref_model_sync_steps", 512, 1, "τ of sync_ref_model: optimizer steps between two reference updates."),
            integer("num_iterations", 1, 1, "Optimizer passes over each generation batch (μ); above 1 the old log-probs are computed once before the first."),
            bool("mask_truncated_completions", false, "Leave truncated completions (whose last token is not EOS) out of the loss."),
            bool("normalize_advantages", false, "RLOO: rescale the batch's advantages to mean 0 and std 1."),
            numbers("reward_clip_range", "RLOO: clip each completion's total reward into [min, max] (a list of two numbers) before the KL penalty; null is off."),
            bool("vllm_importance_sampling_correction", true,
                    "Correct for the sampler/trainer mismatch by weighting the loss with the ratio of the trainer's to the sampler's log-probs."),
            choice("vllm_importance_sampling_mode", SamplingCorrectionMode.class, SamplingCorrectionMode.SEQUENCE_MASK,
                    "Sampler-correction ratio per token or per sequence, clamped into [clip_min, clip_max] (`*_truncate`) or zeroed outside it (`*_mask`)."),
            number("vllm_importance_sampling_clip_max", 3.0, 0.0, INF, true, "Upper bound C_max of the sampler-correction ratio; null for none."),
            number("vllm_importance_sampling_clip_min", null, 0.0, INF, true, "Lower bound C_min of the sampler-correction ratio; null for none."),

            // batch and optimizer
            integer("per_device_train_batch_size", 8, 1,
                    "Completions per micro-batch (as in TRL: completions, not prompts). A generation batch is this × steps_per_generation completions (gradient_accumulation_steps unless set), a multiple of num_generations, shuffled before it is cut into micro-batches."),
            integer("gradient_accumulation_steps", 1, 1, "Micro-batches per optimizer step."),
            ConfigKey.integerOrNull("steps_per_generation", 1,
                    "Micro-batches per generation batch; null means gradient_accumulation_steps. A multiple k of it makes each generation batch feed k optimizer steps (exclusive with generation_batch_size)."),
            ConfigKey.integerOrNull("generation_batch_size", 1,
                    "Completions per generation batch, a multiple of per_device_train_batch_size; null means per_device_train_batch_size × steps_per_generation."),
            number("max_grad_norm", 1.0, 0.0, INF, false, "Clip the global gradient norm to this; 0 turns clipping off."),
            number("weight_decay", 0.0, 0.0, INF, false, "AdamW decoupled weight decay."),
            number("adam_beta1", 0.9, 0.0, 1.0, false, "AdamW first-moment decay."),
            number("adam_beta2", 0.999, 0.0, 1.0, false, "AdamW second-moment decay."),
            positive("adam_epsilon", 1e-8, 0.0, "AdamW denominator epsilon."),
            word("lr_scheduler_type", "linear", List.of("linear", "constant"),
                    "Learning-rate schedule after warm-up: linear decay to 0 at the last step, or constant."),
            integer("warmup_steps", 0, 0, "Steps of linear warm-up from 0 to learning_rate."),
            integer("max_steps", -1, -1, "Optimizer steps to run; -1 means as many as num_train_epochs take."),
            number("num_train_epochs", 3.0, 0.0, INF, false, "Passes over the dataset when max_steps is -1."),
            longInteger("seed", 42L, Long.MIN_VALUE, "Seed for shuffling, sampling and initialisation."),

            // output
            text("output_dir", "trainer_output", false, "Where checkpoints, metrics.jsonl and plots go."),
            integer("save_steps", 500, 0, "Save a checkpoint every this many optimizer steps (0: only at the end; always at the end)."),
            integer("logging_steps", 10, 1, "Print a progress line every this many optimizer steps; metrics.jsonl records every step."),
            word("device", "auto", List.of("auto", "cpu", "gpu"), "Device for training (and the colocated engine): a GPU when present (`auto`), or forced."),

            // LoRA, with TRL's ModelConfig names and PEFT's LoraConfig meanings
            bool("use_peft", false,
                    "Train a LoRA adapter on frozen base weights instead of every weight; only the adapter is synced and saved (PEFT's layout)."),
            integer("lora_r", 16, 1, "LoRA rank r: A is [r, in], B is [out, r]."),
            positive("lora_alpha", 32.0, 0.0, "LoRA alpha: the adapter's term is scaled by lora_alpha / lora_r (lora_alpha / sqrt(lora_r) with use_rslora)."),
            number("lora_dropout", 0.05, 0.0, 1.0, false, "Dropout on the adapter's input in the training forward; in [0, 1)."),
            words("lora_target_modules", List.of("q_proj", "v_proj"),
                    "Modules to adapt, by PEFT's names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, or all-linear. The default is PEFT's for Llama and Qwen."),
            bool("use_rslora", false, "Rank-stabilised LoRA: scale by lora_alpha / sqrt(lora_r)."),
            bool("save_merged_model", false,
                    "With use_peft, checkpoints also hold the merged model (W + scale · B · A) in `merged/`, in the Hugging Face layout."),

            // async generation (TRL's AsyncGRPOConfig names and defaults)
            bool("async_generation", false,
                    "Generate and train at the same time: groups stream in from the servers while the trainer trains on the oldest ready ones, and weights are pushed without pausing generation (see docs/async.md). False: generate, then train, step by step."),
            integer("max_staleness", 4, 0,
                    "Async: most weight versions a token may lag the policy it is trained with; a group is started only if it can be trained on within this many versions, and one whose oldest token is older at training time is dropped (`async/dropped_groups`)."),
            integer("max_inflight_tasks", -1, -1,
                    "Async: most completions being generated at once over all servers; -1 (auto) means max_staleness × the generation batch, at least one generation batch."),
            integer("queue_maxsize", 1024, 1, "Async: most finished completions waiting for the trainer; generation pauses while the queue is full."),
            integer("weight_sync_steps", 1, 1, "Async: optimizer steps between two weight pushes to the servers."),

            // rollout
            choice("rollout.mode", RolloutMode.class, RolloutMode.SERVER,
                    "`server`: call remote rollout servers and push weights after each step; `colocate`: run the engine in-process on the policy's own weights."),
            words("rollout.servers", List.of("localhost:50051"), "Rollout servers as host:port; prompts are spread over all of them and weights pushed to each."),
            text("rollout.auth_token", null, true, "Bearer token for the servers' protected RPCs."),
            text("rollout.auth_token_file", null, true, "File holding the bearer token (one line); exclusive with rollout.auth_token."),
            word("rollout.min_weight_version", "current", List.of("current", "any"),
                    "`current`: each request carries the version last pushed as min_weight_version, so no completion from older weights is used; `any`: accept whatever the server holds."),
            text("rollout.ca_file", null, true, "PEM file of the CA that signed the servers' certificates; null for plaintext."),
            integer("rollout.max_attempts", 12, 1, "Attempts of a request while a server is unreachable, with exponential backoff; also the waits for a server that went away to come back before the run stops."),
            positive("rollout.retry_backoff_seconds", 0.2, 0.0, "First retry delay; it doubles on each retry."),
            positive("rollout.retry_max_backoff_seconds", 20.0, 0.0, "Longest retry delay."),
            positive("rollout.request_timeout_seconds", 1800.0, 0.0, "Deadline of one generation call; a large batch can take minutes."),
            positive("rollout.liveness_timeout_seconds", 30.0, 0.0,
                    "A server silent this long while a generation call to it is outstanding is probed with GetModelInfo; one that does not answer is treated as down and its work goes to the others (a hung server). In async mode, also the longest a take waits for a group in flight that its batch is the last one fit for."),
            integer("rollout.sync_chunk_bytes", 4 * 1024 * 1024 - 64 * 1024, 1024,
                    "Largest tensor chunk per message when pushing weights (under gRPC's 4 MiB message limit)."),

            // the engine, in colocate mode
            bool("use_continuous_batching", true,
                    "Generate with continuous batching over a paged KV cache (false: one padded static batch, the generate() baseline). `use_paged` and `use_transformers_paged` are deprecated names for it."),
            integer("continuous_batching.block_size", 16, 1, "KV-cache block size in tokens (colocate mode)."),
            number("continuous_batching.max_memory_percent", 0.5, 0.0, 1.0, false,
                    "Share of free device memory the colocated KV cache may take; 0.5 leaves room for the backward pass."),
            integer("continuous_batching.max_batch_tokens", 2048, 1, "Token budget of one engine step (colocate mode)."));

    private static final Map<String, ConfigKey> BY_NAME = index();

    private ConfigKeys() {
    }

    static ConfigKey get(String name) {
        return BY_NAME.get(name);
    }

    private static Map<String, ConfigKey> index() {
        Map<String, ConfigKey> byName = new LinkedHashMap<>();
        for (ConfigKey key : ALL) {
            if (byName.put(key.name(), key) != null) {
                throw new IllegalStateException("config key listed twice: " + key.name());
            }
        }
        return byName;
    }
}
