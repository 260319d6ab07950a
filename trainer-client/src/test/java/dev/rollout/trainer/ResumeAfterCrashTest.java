package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.Rollouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reliability suite's resume check: a trainer that dies after step {@code CRASH} (checkpoints every 2 steps, so
 * the last one is {@code checkpoint-(CRASH-1)}, and the crash leaves half a metrics line) is resumed from that
 * checkpoint and run to the end. Its {@code metrics.jsonl} must hold every step once, with the values of an
 * uninterrupted run of the same seed. The weight versions differ (the server kept the crashed run's last push, so the
 * resumed run publishes above it) and are compared for order only; timings are not compared.
 *
 * <p>Short by default (6 steps). The longer version: {@code -Drollout.reliability.resume.steps=30}.
 */
class ResumeAfterCrashTest {
    private static final int STEPS = Integer.getInteger("rollout.reliability.resume.steps", 6);
    private static final int CRASH = STEPS / 2 % 2 == 1 ? STEPS / 2 : STEPS / 2 + 1;

    @TempDir
    static Path tmp;

    static List<ObjectNode> uninterrupted;
    static List<ObjectNode> resumed;
    static List<ObjectNode> superseded;
    static final List<Integer> plottedSteps = new ArrayList<>();

    @BeforeAll
    static void runUninterruptedThenCrashAndResume() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        try (LoopbackServer server = new LoopbackServer(model)) {
            String[] overrides = {"rollout.mode=server", "rollout.servers=" + server.address(), "save_steps=2"};
            uninterrupted = rows(train(TestRuns.config(model, tmp.resolve("uninterrupted"), STEPS, overrides), null, 0));

            TrainerConfig config = TestRuns.config(model, tmp.resolve("crashed"), STEPS, overrides);
            Path run = tmp.resolve("crashed");
            assertThrows(IllegalStateException.class, () -> train(config, null, CRASH));
            Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":" + (CRASH + 1) + ",\"rew", StandardOpenOption.APPEND);
            resumed = rows(train(config, run.resolve("checkpoint-" + (CRASH - 1)), 0));
            superseded = rows(run.resolve(MetricsLog.SUPERSEDED_FILE).toFile().exists()
                    ? List.of(Files.readAllLines(run.resolve(MetricsLog.SUPERSEDED_FILE)).get(0)) : List.of());
        }
    }

    /** Trains from scratch or from {@code resume}; dies (throws) after step {@code crashAfter} unless it is 0. */
    private static List<String> train(TrainerConfig config, Path resume, int crashAfter) throws Exception {
        try (TrainingRun run = TestRuns.open(config, resume)) {
            run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
            run.train(0, r -> {
                if (r.step() == crashAfter) {
                    throw new IllegalStateException("killed after step " + r.step());
                }
            });
            if (resume != null) {
                run.points().forEach(p -> plottedSteps.add(p.step()));
            }
        }
        return Files.readAllLines(Path.of(config.outputDir()).resolve("metrics.jsonl"));
    }

    private static List<ObjectNode> rows(List<String> lines) throws Exception {
        List<ObjectNode> out = new ArrayList<>();
        for (String line : lines) {
            out.add((ObjectNode) new ObjectMapper().readTree(line));
        }
        return out;
    }

    private static ObjectNode comparable(ObjectNode row) {
        ObjectNode c = row.deepCopy();
        c.remove(List.of("weight_version", "time/generate", "time/train", "time/sync", "step_time", "tokens_per_second"));
        return c;
    }

    @Test
    void everyStepAppearsOnceInOrder() {
        List<Integer> expected = new ArrayList<>();
        for (int s = 1; s <= STEPS; s++) {
            expected.add(s);
        }
        assertEquals(expected, resumed.stream().map(r -> r.get("step").asInt()).toList());
    }

    @Test
    void metricsEqualThoseOfAnUninterruptedRunOfTheSameSeed() {
        assertEquals(uninterrupted.stream().map(ResumeAfterCrashTest::comparable).toList(),
                resumed.stream().map(ResumeAfterCrashTest::comparable).toList());
    }

    @Test
    void weightVersionsRiseStepByStepAcrossTheResume() {
        for (int i = 1; i < resumed.size(); i++) {
            assertTrue(resumed.get(i).get("weight_version").asLong() > resumed.get(i - 1).get("weight_version").asLong(),
                    "step " + (i + 1));
        }
    }

    @Test
    void theRowsOfTheStepTakenAgainAreKeptAside() {
        assertEquals(1, superseded.size());
        assertEquals(CRASH, superseded.get(0).get("step").asInt());
    }

    @Test
    void theRewardPlotOfTheResumedRunCoversEveryStep() {
        assertEquals(resumed.stream().map(r -> r.get("step").asInt()).toList(), plottedSteps);
    }
}
