package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.proto.v1.Completion;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rollout mode changes where generation runs, not what a seeded step samples or the loss it takes. */
class ColocateMatchesServerTest {
    @TempDir
    Path tmp;

    @Test
    void colocateAndServerModesGiveTheSameFirstStepCompletionsAndLoss() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        StepRecord served;
        try (LoopbackServer server = new LoopbackServer(model)) {
            served = firstStep(TestRuns.config(model, tmp.resolve("server-run"), 1,
                    "rollout.mode=server", "rollout.servers=" + server.address()));
        }
        StepRecord colocated = firstStep(TestRuns.config(model, tmp.resolve("colocate-run"), 1, "rollout.mode=colocate"));

        assertEquals(tokens(served.completions()), tokens(colocated.completions()));
        assertEquals(served.metrics().get("reward"), colocated.metrics().get("reward"));
        assertEquals(served.metrics().get("loss"), colocated.metrics().get("loss"), 1e-6);
    }

    private static StepRecord firstStep(TrainerConfig config) throws Exception {
        StepRecord[] first = new StepRecord[1];
        try (TrainingRun run = TestRuns.open(config, null)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, r -> first[0] = r);
        }
        return first[0];
    }

    private static List<List<Integer>> tokens(List<Completion> completions) {
        return completions.stream().map(Completion::getTokenIdsList).toList();
    }
}
