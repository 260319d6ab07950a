package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.data.PromptDataset;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Short async runs of the tiny model against a real server over gRPC, GRPO and RLOO. */
class AsyncTrainingTest {
    @TempDir
    static Path tmp;
    static Path model;
    static LoopbackServer server;
    private static int runs;

    @BeforeAll
    static void start() throws Exception {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        server = new LoopbackServer(model);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static List<StepRecord> train(int maxSteps, String... overrides) throws Exception {
        return train(tmp.resolve("run-" + runs++), null, maxSteps, overrides);
    }

    private static TrainerConfig config(Path dir, int maxSteps, String... overrides) {
        List<String> all = new ArrayList<>(List.of("rollout.mode=server", "rollout.servers=" + server.address(),
                "async_generation=true"));
        all.addAll(List.of(overrides));
        return TestRuns.config(model, dir, maxSteps, all.toArray(String[]::new));
    }

    private static List<StepRecord> train(Path dir, Path resume, int maxSteps, String... overrides) throws Exception {
        List<StepRecord> records = new ArrayList<>();
        try (TrainingRun run = TestRuns.open(config(dir, maxSteps, overrides), resume)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, records::add);
        }
        return records;
    }

    @Test
    void grpoTrainsAsyncWithinTheStalenessBoundAndLogsIt() throws Exception {
        List<StepRecord> records = train(6, "max_staleness=1");

        assertEquals(6, records.size());
        for (StepRecord r : records) {
            assertTrue(r.metrics().get("staleness/max") <= 1.0, "step " + r.step() + ": " + r.metrics());
            assertTrue(r.metrics().get("staleness/mean") <= r.metrics().get("staleness/max"));
            assertEquals(0.0, r.metrics().get("async/dropped_groups"));
            assertTrue(r.metrics().containsKey("async/queue_size"));
            assertTrue(r.metrics().get("time/wait_for_rollouts") >= 0);
            assertTrue(r.metrics().containsKey("sampling/importance_sampling_ratio/mean"));
        }
        assertEquals(0.0, records.get(0).metrics().get("staleness/max"), "the first batch comes from the first weights");
        assertEquals(5.0, records.get(5).metrics().get("weight_version") - records.get(0).metrics().get("weight_version"),
                "one version per optimizer step");
    }

    private static List<String> sorted(List<String> values) {
        return values.stream().sorted().toList();
    }

    /** The prompt of each group trained on, step after step. */
    private static List<String> promptsTrained(List<StepRecord> records, int numGenerations) {
        List<String> out = new ArrayList<>();
        for (StepRecord r : records) {
            for (int i = 0; i < r.scored().size(); i += numGenerations) {
                out.add(r.scored().get(i).prompt());
            }
        }
        return out;
    }

    @Test
    void aResumedRunGeneratesTheGroupsInFlightAtTheCheckpointAgainAndTrainsEveryPromptOnce() throws Exception {
        Path dir = tmp.resolve("resumed");
        // a checkpoint after step 2 while later groups are generated or wait; the run goes on to step 4 and stops
        List<StepRecord> before = train(dir, null, 4, "save_steps=2", "max_staleness=2");
        JsonNode saved = new ObjectMapper().readTree(dir.resolve("checkpoint-2").resolve(TrainerCheckpoint.STATE_FILE).toFile());
        List<StepRecord> after = train(dir, dir.resolve("checkpoint-2"), 6, "max_staleness=2");

        TrainerConfig config = config(dir, 6);
        PromptDataset dataset = PromptDataset.open(config.dataset(), config.seed());
        TrainingState fresh = TrainingState.fresh();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 6 * 2; i++) {
            expected.add(dataset.row(fresh.nextRow(dataset, config.shuffleDataset())).text());
        }
        List<String> trained = promptsTrained(before.subList(0, 2), 4);
        trained.addAll(promptsTrained(after, 4));

        // a step takes the oldest groups ready, so within the groups in flight together the order may vary
        assertEquals(4, saved.get("position").asInt(), "the cursor of the checkpoint is the first prompt not trained on");
        assertEquals(sorted(expected.subList(4, 8)), sorted(promptsTrained(before.subList(2, 4), 4)), "the first run went past it");
        assertEquals(List.of(3, 4, 5, 6), after.stream().map(StepRecord::step).toList());
        assertEquals(sorted(expected.subList(0, 4)), sorted(trained.subList(0, 4)), "trained before the checkpoint");
        assertEquals(sorted(expected), sorted(trained), "every prompt trained once across the resume, none skipped");
    }

    @Test
    void aCheckpointSkipsTheDrawsAfterItsCursorThatWereTrainedOnAlready() throws Exception {
        PromptDataset dataset = PromptDataset.open("addition", 3);
        TrainingState state = TrainingState.fresh();
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add(state.nextRow(dataset, true));
        }
        // draws 2 and 5 were not trained on (e.g. 2 lost with its server and started again after 3 and 4 were trained)
        TrainingState saved = state.resumePoint(java.util.Set.of(2L, 5L, 7L), dataset.size());
        assertEquals(java.util.Set.of(3L, 4L, 6L), saved.skipDraws());

        List<Integer> again = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            again.add(saved.nextRow(dataset, true));
        }
        TrainingState reference = TrainingState.fresh();
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            all.add(reference.nextRow(dataset, true));
        }
        assertEquals(List.of(all.get(2), all.get(5), all.get(7), all.get(8)), again);
        assertEquals(8, saved.lastDraw());
    }

    @Test
    void rlooTrainsAsyncToo() throws Exception {
        List<StepRecord> records = train(3, "trainer=rloo", "num_generations=4", "max_staleness=2");

        assertEquals(3, records.size());
        assertTrue(records.stream().allMatch(r -> r.metrics().get("staleness/max") <= 2.0));
        assertTrue(records.stream().allMatch(r -> r.completions().size() == 8));
    }

    @Test
    void weightSyncStepsPushesEveryNthStep() throws Exception {
        List<StepRecord> records = train(4, "weight_sync_steps=2", "max_staleness=2");

        assertEquals(4, records.size());
        assertTrue(records.stream().allMatch(r -> r.metrics().get("staleness/max") <= 2.0));
        assertEquals(0.0, records.get(0).metrics().get("time/sync"), "no push after step 1");
        assertTrue(records.get(1).metrics().get("time/sync") > 0, "a push after step 2");
    }
}
