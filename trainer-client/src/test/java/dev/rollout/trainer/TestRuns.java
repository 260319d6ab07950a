package dev.rollout.trainer;

import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Small GRPO runs on the tiny model and the addition prompts: two prompts, four completions each, four tokens long,
 * rewarded for containing a digit.
 */
final class TestRuns {
    static final long SEED = 7;

    private TestRuns() {}

    /** The config of a run in {@code outputDir} on {@code modelDir}, plus any {@code --set} overrides. */
    static TrainerConfig config(Path modelDir, Path outputDir, int maxSteps, String... overrides) {
        return TrainerConfig.parse(yaml(modelDir, outputDir, maxSteps), List.of(overrides));
    }

    /** The YAML text of such a run, as a config file holds it. */
    static String yaml(Path modelDir, Path outputDir, int maxSteps) {
        return String.join("\n",
                "trainer: grpo",
                "model: '" + modelDir + "'",
                "dataset: addition",
                // the untrained model never gets a sum right; whether a digit appears varies within a group, so
                // advantages, gradients and the optimizer's moments are not all zero
                "reward_funcs: [format]",
                "format_pattern: '(?s).*[0-9].*'",
                "num_generations: 4",
                "per_device_train_batch_size: 8",
                "max_completion_length: 4",
                "temperature: 1.0",
                "learning_rate: 1.0e-3",
                "beta: 0.0",
                "max_steps: " + maxSteps,
                "save_steps: 0",
                "seed: " + SEED,
                "device: cpu",
                "output_dir: '" + outputDir + "'",
                "continuous_batching:",
                "  max_memory_percent: 0.01",
                "");
    }

    static TrainingRun open(TrainerConfig config, Path resumeFrom) throws IOException {
        return new TrainingRun(config, resumeFrom, new SimpleMeterRegistry(), Rollouts::create);
    }
}
