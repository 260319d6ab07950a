package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a step logs and how many optimizer steps it takes, on short colocated runs of the tiny model. */
class TrainingLoopMetricsTest {
    @TempDir
    static Path tmp;
    static Path model;
    private static int runs;

    @BeforeAll
    static void materialize() throws Exception {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
    }

    private static List<StepRecord> train(int maxSteps, String... overrides) throws Exception {
        List<String> all = new ArrayList<>(List.of("rollout.mode=colocate"));
        all.addAll(List.of(overrides));
        List<StepRecord> records = new ArrayList<>();
        try (TrainingRun run = TestRuns.open(TestRuns.config(model, tmp.resolve("run-" + runs++), maxSteps,
                all.toArray(String[]::new)), null)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, records::add);
        }
        return records;
    }

    @Test
    void theLoggedLossIsTheOptimizerStepsLossSummedOverItsMicroBatches() throws Exception {
        // the same 8 completions (same seed and weights), shuffled the same way, in one micro-batch or in two: the
        // dapo loss back-propagated by each optimizer step is the same sum, so the logged loss must be too. Equally
        // long completions have a loss of ~0 at ratio 1; the second iteration over a batch, after a large step, not.
        // a reward that varies within groups from the first step: some completion text has a lowercase letter
        String[] common = {"num_iterations=2", "learning_rate=0.01", "format_pattern=(?s).*[a-z].*"};
        List<StepRecord> one = train(4, common);
        List<StepRecord> two = train(4, concat(common, "per_device_train_batch_size=4", "gradient_accumulation_steps=2"));
        double a = one.get(1).metrics().get("loss"); // at this seed the first generation's rewards are all equal
        double b = two.get(1).metrics().get("loss");
        assertTrue(Math.abs(a) > 1e-4, "a loss to compare: " + a);
        assertEquals(a, b, 1e-3 * Math.abs(a));
    }

    private static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }

    @Test
    void noSamplingMetricsWhenTheCorrectionIsOff() throws Exception {
        StepRecord off = train(1, "vllm_importance_sampling_correction=false").get(0);
        assertFalse(off.metrics().keySet().stream().anyMatch(k -> k.startsWith("sampling/")), off.metrics().toString());
        StepRecord on = train(1).get(0);
        assertTrue(on.metrics().containsKey("sampling/importance_sampling_ratio/mean"));
    }

    @Test
    void stepsPerGenerationTakesSeveralOptimizerStepsFromOneGeneration() throws Exception {
        List<StepRecord> records = train(2, "per_device_train_batch_size=4", "steps_per_generation=2");
        assertEquals(1, records.size(), "one generation of 8 completions feeds both optimizer steps");
        StepRecord r = records.get(0);
        assertEquals(2, r.step());
        assertEquals(8, r.completions().size());
        assertEquals(3.0, r.metrics().get("weight_version"), "initial version 1, then one per optimizer step");
    }

    @Test
    void maxStepsStopsWithinAGenerationsOptimizerSteps() throws Exception {
        List<StepRecord> records = train(3, "per_device_train_batch_size=4", "steps_per_generation=2");
        assertEquals(2, records.size());
        assertEquals(3, records.get(1).step(), "the second generation takes one of its two optimizer steps");
    }

    @Test
    void numTokensCountsEveryPromptAndCompletionTokenSoFar() throws Exception {
        List<StepRecord> records = train(2);
        long total = 0;
        for (StepRecord r : records) {
            for (Completion c : r.completions()) {
                total += c.getPromptTokenIdsCount() + c.getTokenIdsCount();
            }
            assertEquals((double) total, r.metrics().get("num_tokens"));
        }
        assertTrue(records.get(0).metrics().get("completions/min_length")
                <= records.get(0).metrics().get("completions/max_length"));
    }

    @Test
    void rlooLogsTheKlToTheReference() throws Exception {
        // at this seed step 1's rewards are all 0 (no update); step 2 updates the policy
        List<StepRecord> records = train(3, "trainer=rloo", "num_generations=4", "beta=0.05");
        assertEquals(0.0, records.get(0).metrics().get("kl"), "the policy starts as the reference");
        assertNotEquals(0.0, records.get(1).metrics().get("grad_norm"));
        assertNotEquals(0.0, records.get(2).metrics().get("kl"));
    }

    @Test
    void syncRefModelWithAlphaOneMakesTheReferenceThePolicy() throws Exception {
        // after step 2's update the reference becomes the policy, so step 3 scores old = ref: KL 0 again
        List<StepRecord> records = train(3, "trainer=rloo", "num_generations=4", "beta=0.05", "sync_ref_model=true",
                "ref_model_mixup_alpha=1.0", "ref_model_sync_steps=1");
        assertNotEquals(0.0, records.get(1).metrics().get("grad_norm"));
        assertEquals(0.0, records.get(2).metrics().get("kl"), 1e-7);
    }
}
