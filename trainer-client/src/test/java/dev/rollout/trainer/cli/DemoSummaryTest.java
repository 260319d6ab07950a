package dev.rollout.trainer.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.trainer.StepRecord;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's throughput line says what it measures in each mode. */
class DemoSummaryTest {
    private static StepRecord step(Map<String, Double> metrics) {
        return new StepRecord(1, metrics, List.of(), List.of(), new double[0], 1_000, 0);
    }

    private static String render(DemoSummary summary) {
        Path dir = Path.of("/tmp/run");
        return summary.render(List.of(), dir.resolve("checkpoint-1"), dir, 10.0, 0);
    }

    @Test
    void syncRunsRateTokensOverTheTimeSpentGenerating() {
        DemoSummary summary = new DemoSummary();
        summary.add(step(Map.of("time/generate", 0.5)));
        summary.add(step(Map.of("time/generate", 0.5)));

        assertTrue(render(summary).contains("2,000 at 2000 tokens/s while generating"), render(summary));
    }

    @Test
    void asyncRunsRateTokensOverWallTimeSinceTheirWaitIsNotGenerationTime() {
        DemoSummary summary = new DemoSummary();
        // in async mode time/generate is the trainer's wait for ready groups, near zero when the queue is full
        summary.add(step(Map.of("time/generate", 0.001, "staleness/max", 4.0)));
        summary.add(step(Map.of("time/generate", 0.001, "staleness/max", 4.0)));

        String text = render(summary);
        assertTrue(text.contains("2,000 at 200 tokens/s of wall time (async: generated while training)"), text);
        assertTrue(!text.contains("while generating"), text);
    }
}
