package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tiny.ModelPresets;
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
        List<String> all = new ArrayList<>(List.of("rollout.mode=server", "rollout.servers=" + server.address(),
                "async_generation=true"));
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
