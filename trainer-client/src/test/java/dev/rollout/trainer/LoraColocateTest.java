package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA in colocate mode: the in-process engine generates through the policy's own adapter, with nothing to sync. */
class LoraColocateTest {
    private static final String[] LORA = {"use_peft=true", "lora_r=4", "lora_target_modules=[q_proj, v_proj, down_proj]", "lora_dropout=0"};

    @TempDir
    Path tmp;

    @Test
    void colocatedAdapterRunSamplesWhatTheServerModeRunSamplesAndScoresItAlike() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        List<StepRecord> served;
        try (LoopbackServer server = new LoopbackServer(model)) {
            served = steps(TestRuns.config(model, tmp.resolve("server-run"), 2,
                    concat(LORA, "rollout.mode=server", "rollout.servers=" + server.address())));
        }
        List<StepRecord> colocated = steps(TestRuns.config(model, tmp.resolve("colocate-run"), 2, concat(LORA, "rollout.mode=colocate")));

        assertEquals(tokens(served.get(0).completions()), tokens(colocated.get(0).completions()));
        assertEquals(served.get(0).metrics().get("loss"), colocated.get(0).metrics().get("loss"), 1e-6);
        for (StepRecord r : colocated) {
            assertEquals(0, r.publishedBytes(), "a colocated step copies no weights");
            double difference = r.metrics().get("sampling/sampling_logp_difference/mean");
            assertTrue(difference < 1e-5, "step " + r.step() + ": mean |sampling - trainer| log-prob difference " + difference);
        }
    }

    @Test
    void theSamplerCorrectionComparesTheServerWithThePolicyWithoutItsDropout() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        // a high rate so that B is far from zero after the first step and dropout moves the training forward's log-probs
        List<StepRecord> steps = steps(TestRuns.config(model, tmp.resolve("dropout-run"), 3, "use_peft=true", "lora_r=4",
                "lora_target_modules=[all-linear]", "lora_dropout=0.5", "learning_rate=0.05", "rollout.mode=colocate"));
        assertEquals(3, steps.size());
        for (StepRecord r : steps) {
            double difference = r.metrics().get("sampling/sampling_logp_difference/mean");
            assertTrue(difference < 1e-5, "step " + r.step() + ": mean |sampling - trainer| log-prob difference " + difference);
        }
    }

    private static List<StepRecord> steps(TrainerConfig config) throws Exception {
        List<StepRecord> out = new ArrayList<>();
        try (TrainingRun run = TestRuns.open(config, null)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, out::add);
        }
        return out;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static List<List<Integer>> tokens(List<Completion> completions) {
        return completions.stream().map(Completion::getTokenIdsList).toList();
    }
}
