package dev.rollout.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainerConfigTest {

    @Test
    void emptyConfigHasTrlGrpoDefaults() {
        TrainerConfig c = TrainerConfig.parse("", List.of());
        assertEquals(TrainerType.GRPO, c.trainer());
        assertEquals(8, c.numGenerations());
        assertEquals(0.0, c.beta());
        assertEquals(1e-6, c.learningRate());
        assertEquals(0.2, c.epsilon());
        assertEquals(0.2, c.epsilonHigh(), "epsilon_high follows epsilon when unset");
        assertEquals(LossType.DAPO, c.lossType());
        assertEquals(ScaleRewards.GROUP, c.scaleRewards());
        assertEquals(ImportanceSamplingLevel.TOKEN, c.importanceSamplingLevel());
        assertEquals(1, c.numIterations());
        assertEquals(512, c.maxCompletionLength(), "TRL 1.x GRPOConfig and RLOOConfig default");
        assertEquals(1.0, c.temperature());
        assertTrue(c.samplingCorrection());
        assertEquals(SamplingCorrectionMode.SEQUENCE_MASK, c.samplingCorrectionMode());
        assertEquals(3.0, c.samplingCorrectionClipMax());
        assertNull(c.samplingCorrectionClipMin());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(42L, c.seed());
        assertEquals(List.of("accuracy"), c.rewardFuncs());
        assertEquals(List.of(1.0), c.effectiveRewardWeights());
        assertTrue(c.useContinuousBatching());
        assertEquals(0.5, c.continuousBatchingMaxMemoryPercent());
        assertEquals(RolloutMode.SERVER, c.rolloutMode());
        assertTrue(c.deprecations().isEmpty());
    }

    @Test
    void rlooHasItsOwnDefaultsForGroupSizeAndBeta() {
        TrainerConfig c = TrainerConfig.parse("trainer: rloo\n", List.of());
        assertEquals(2, c.numGenerations());
        assertEquals(0.05, c.beta());
        assertFalse(c.normalizeAdvantages());
    }

    @Test
    void issueExampleParses() {
        String yaml = """
                trainer: grpo
                model: tiny
                dataset_path: train.jsonl
                reward_funcs: [accuracy]
                num_generations: 4
                max_completion_length: 16
                per_device_train_batch_size: 8
                learning_rate: 1.0e-4
                max_steps: 3
                output_dir: runs/check
                """;
        TrainerConfig c = TrainerConfig.parse(yaml, List.of());
        assertEquals("train.jsonl", c.dataset(), "dataset_path is another name for dataset");
        assertEquals(4, c.numGenerations());
        assertEquals(16, c.maxCompletionLength());
        assertEquals(1e-4, c.learningRate());
        assertEquals(3, c.maxSteps());
        assertEquals("runs/check", c.outputDir());
    }

    @Test
    void sectionsAreNestedInYaml() {
        String yaml = """
                rollout:
                  mode: colocate
                  servers: [a:1, b:2]
                continuous_batching:
                  block_size: 32
                """;
        TrainerConfig c = TrainerConfig.parse(yaml, List.of());
        assertEquals(RolloutMode.COLOCATE, c.rolloutMode());
        assertEquals(List.of("a:1", "b:2"), c.rolloutServers());
        assertEquals(32, c.continuousBatchingBlockSize());
    }

    @Test
    void overridesWinOverTheFileAndUseDottedKeysForSections() {
        TrainerConfig c = TrainerConfig.parse("learning_rate: 1.0e-5\nrollout: {mode: colocate}\n", List.of(
                "learning_rate=3e-4", "rollout.mode=server", "reward_funcs=[accuracy, format]",
                "reward_weights=1,0.5", "epsilon_high=0.28", "rollout.servers=h1:5,h2:6"));
        assertEquals(3e-4, c.learningRate());
        assertEquals(RolloutMode.SERVER, c.rolloutMode());
        assertEquals(List.of("accuracy", "format"), c.rewardFuncs());
        assertEquals(List.of(1.0, 0.5), c.rewardWeights());
        assertEquals(0.28, c.epsilonHigh());
        assertEquals(List.of("h1:5", "h2:6"), c.rolloutServers());
    }

    @Test
    void scaleRewardsAcceptsTrlBooleans() {
        assertEquals(ScaleRewards.GROUP, TrainerConfig.parse("scale_rewards: true", List.of()).scaleRewards());
        assertEquals(ScaleRewards.NONE, TrainerConfig.parse("scale_rewards: false", List.of()).scaleRewards());
        assertEquals(ScaleRewards.BATCH, TrainerConfig.parse("scale_rewards: batch", List.of()).scaleRewards());
    }

    @Test
    void legacyPagedKeysMapToContinuousBatchingWithAWarning() {
        TrainerConfig paged = TrainerConfig.parse("use_paged: false\n", List.of());
        assertFalse(paged.useContinuousBatching());
        assertEquals(1, paged.deprecations().size());
        assertTrue(paged.deprecations().get(0).contains("use_paged"));
        assertTrue(paged.deprecations().get(0).contains("use_continuous_batching"));

        TrainerConfig transformers = TrainerConfig.parse("", List.of("use_transformers_paged=false"));
        assertFalse(transformers.useContinuousBatching());
        assertTrue(transformers.deprecations().get(0).contains("use_transformers_paged"));
    }

    @Test
    void legacySamplingCapMapsToClipMax() {
        TrainerConfig c = TrainerConfig.parse("vllm_importance_sampling_cap: 2.0\n", List.of());
        assertEquals(2.0, c.samplingCorrectionClipMax());
        assertEquals(1, c.deprecations().size());
    }

    @Test
    void legacyKeyConflictingWithItsCurrentNameIsAnError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("use_paged: false\nuse_continuous_batching: true\n", List.of()));
        assertEquals("use_paged", e.key());
    }

    @Test
    void unknownKeyIsAnErrorNamingItAndTheNearestKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("learning_rat: 1.0e-5\n", List.of()));
        assertEquals("learning_rat", e.key());
        assertTrue(e.getMessage().contains("Did you mean 'learning_rate'"), e.getMessage());
    }

    @Test
    void unknownSectionKeyIsAnError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("", List.of("rollout.moed=server")));
        assertEquals("rollout.moed", e.key());
    }

    @Test
    void badChoiceIsAnErrorListingTheAllowedValues() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("loss_type: ppo\n", List.of()));
        assertEquals("loss_type", e.key());
        assertTrue(e.getMessage().contains("grpo, bnpo, dr_grpo, dapo"), e.getMessage());
    }

    @Test
    void badNumberIsAnErrorNamingTheKeyAndRange() {
        ConfigException negative = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("num_generations: 1\n", List.of()));
        assertEquals("num_generations", negative.key());
        assertTrue(negative.getMessage().contains(">= 2"), negative.getMessage());

        ConfigException text = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("", List.of("temperature=hot")));
        assertEquals("temperature", text.key());
    }

    @Test
    void batchMustHoldWholeGroups() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("num_generations: 3\nper_device_train_batch_size: 8\n", List.of()));
        assertEquals("per_device_train_batch_size", e.key());
    }

    @Test
    void rewardWeightsMustMatchRewardFunctions() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("reward_funcs: [accuracy, format]\nreward_weights: [1.0]\n", List.of()));
        assertEquals("reward_weights", e.key());
    }

    @Test
    void truncateModeNeedsABound() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainerConfig.parse(
                "vllm_importance_sampling_mode: token_truncate\nvllm_importance_sampling_clip_max: null\n", List.of()));
        assertEquals("vllm_importance_sampling_mode", e.key());
    }

    @Test
    void serversMustBeHostAndPort() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("rollout: {servers: [localhost]}\n", List.of()));
        assertEquals("rollout.servers", e.key());
    }

    @Test
    void malformedOverrideIsAnError() {
        assertThrows(ConfigException.class, () -> TrainerConfig.parse("", List.of("learning_rate")));
    }

    @Test
    void everyKeyIsListedOnceWithADefaultAndAMeaning() {
        Set<String> names = new HashSet<>();
        for (ConfigKey key : TrainerConfig.keys()) {
            assertTrue(names.add(key.name()), "listed twice: " + key.name());
            assertFalse(key.meaning().isBlank(), key.name());
            assertFalse(key.type().isBlank(), key.name());
            assertFalse(key.defaultText().isBlank(), key.name());
        }
        assertEquals("8 (grpo), 2 (rloo)", TrainerConfig.keys().stream()
                .filter(k -> k.name().equals("num_generations")).findFirst().orElseThrow().defaultText());
        assertEquals(names, TrainerConfig.defaults(List.of()).asMap().keySet());
    }
}
