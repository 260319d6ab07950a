package dev.rollout.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The keys from TRL's GRPOConfig / RLOOConfig beyond the basic objective: TRL's defaults, checks and warnings. */
class TrlOptionsConfigTest {

    private static TrainerConfig with(String... overrides) {
        return TrainerConfig.defaults(List.of(overrides));
    }

    private static ConfigException refused(String... overrides) {
        return assertThrows(ConfigException.class, () -> with(overrides));
    }

    @Test
    void defaultsAreTrls() {
        TrainerConfig c = with();
        assertNull(c.delta());
        assertEquals(1.0, c.sapoTemperaturePos());
        assertEquals(1.05, c.sapoTemperatureNeg());
        assertEquals(2.0, c.vespoKPos());
        assertEquals(3.0, c.vespoLambdaPos());
        assertEquals(3.0, c.vespoKNeg());
        assertEquals(2.0, c.vespoLambdaNeg());
        assertEquals(1.0, c.topEntropyQuantile());
        assertNull(c.offPolicyMaskThreshold());
        assertFalse(c.useBiasCorrectionKl());
        assertEquals(MultiObjectiveAggregation.SUM_THEN_NORMALIZE, c.multiObjectiveAggregation());
        assertFalse(c.syncRefModel());
        assertEquals(0.6, c.refModelMixupAlpha());
        assertEquals(512, c.refModelSyncSteps());
        assertNull(c.rewardClipRange());
        assertEquals(512, c.maxCompletionLength());
        assertEquals(512, with("trainer=rloo").maxCompletionLength());
    }

    @Test
    void everyLossTypeOfTrlIsAccepted() {
        for (String type : List.of("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo")) {
            assertEquals(type, with("loss_type=" + type).lossType().configName());
        }
        assertEquals(LossType.VESPO, with("loss_type=vespo", "vllm_importance_sampling_mode=token_mask").lossType());
    }

    @Test
    void stepsPerGenerationDefaultsToGradientAccumulationSteps() {
        TrainerConfig c = with("per_device_train_batch_size=4", "gradient_accumulation_steps=2", "num_generations=4");
        assertEquals(2, c.stepsPerGeneration());
        assertEquals(8, c.generationBatchSize());
    }

    @Test
    void generationBatchSizeGivesStepsPerGeneration() {
        TrainerConfig c = with("per_device_train_batch_size=4", "generation_batch_size=16", "num_generations=4");
        assertEquals(4, c.stepsPerGeneration());
        assertEquals(16, c.generationBatchSize());
        assertEquals(12, with("per_device_train_batch_size=4", "steps_per_generation=3", "num_generations=4")
                .generationBatchSize());
    }

    @Test
    void generationBatchKeysAreCheckedAsTrlChecksThem() {
        assertTrue(refused("steps_per_generation=2", "generation_batch_size=16").getMessage().contains("cannot both"));
        assertTrue(refused("per_device_train_batch_size=4", "generation_batch_size=10").getMessage()
                .contains("multiple of per_device_train_batch_size"));
        assertTrue(refused("per_device_train_batch_size=2", "num_generations=4", "generation_batch_size=6")
                .getMessage().contains("multiple of num_generations"));
    }

    @Test
    void stepsPerGenerationMustBeAWholeNumberOfOptimizerSteps() {
        ConfigException e = refused("per_device_train_batch_size=4", "num_generations=4",
                "gradient_accumulation_steps=2", "steps_per_generation=3");
        assertEquals("steps_per_generation", e.key());
    }

    @Test
    void syncRefModelNeedsAReferenceModel() {
        assertEquals("sync_ref_model", refused("sync_ref_model=true").key());
        assertTrue(with("sync_ref_model=true", "beta=0.04").syncRefModel());
    }

    @Test
    void syncRefModelIsRefusedWithLoraAsTrlDoes() {
        ConfigException e = refused("sync_ref_model=true", "beta=0.04", "use_peft=true");
        assertEquals("sync_ref_model", e.key());
        assertTrue(e.getMessage().contains("use_peft"), e.getMessage());
    }

    @Test
    void vespoRefusesTheSequenceLevelSamplerCorrectionAsTrlDoes() {
        assertEquals("loss_type", refused("loss_type=vespo").key());
        assertEquals(LossType.VESPO, with("loss_type=vespo", "vllm_importance_sampling_correction=false").lossType());
    }

    @Test
    void rewardClipRangeIsAMinAndAMax() {
        assertEquals(List.of(-1.0, 1.0), with("trainer=rloo", "reward_clip_range=[-1, 1]").rewardClipRange());
        assertEquals("reward_clip_range", refused("trainer=rloo", "reward_clip_range=[1, -1]").key());
        assertEquals("reward_clip_range", refused("trainer=rloo", "reward_clip_range=[1]").key());
    }

    @Test
    void normalizeThenSumIsAGrpoOption() {
        assertEquals("multi_objective_aggregation",
                refused("trainer=rloo", "multi_objective_aggregation=normalize_then_sum").key());
    }

    @Test
    void warnsWhereTrlWarns() {
        assertEquals(List.of(), ConfigWarnings.of(with()));
        assertTrue(ConfigWarnings.of(with("loss_type=luspo")).get(0).contains("should be 'sequence'"));
        assertEquals(List.of(), ConfigWarnings.of(with("loss_type=luspo", "importance_sampling_level=sequence")));
        assertTrue(ConfigWarnings.of(with("importance_sampling_level=sequence")).get(0)
                .contains("weights each sequence by its completion length"), "dapo at sequence level");
        assertEquals(List.of(), ConfigWarnings.of(with("importance_sampling_level=sequence", "loss_type=grpo")));
        assertTrue(ConfigWarnings.of(with("loss_type=vespo", "importance_sampling_level=sequence",
                "vllm_importance_sampling_correction=false")).get(0).contains("should be 'token'"));
    }
}
