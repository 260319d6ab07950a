package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.trainer.bench.BenchReport;
import dev.rollout.trainer.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code trainer bench}: its argument checks, and a quick run of two runs on the tiny model. */
class BenchCommandTest {
    @TempDir
    Path tmp;

    private record Outcome(int exit, String err) {}

    private Outcome bench(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main()).setErr(new PrintWriter(err, true));
        String[] full = new String[args.length + 1];
        full[0] = "bench";
        System.arraycopy(args, 0, full, 1, args.length);
        return new Outcome(cli.execute(full), err.toString());
    }

    @Test
    void outIsRequired() {
        Outcome o = bench("--runs", "sync");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("--out"), o.err());
    }

    @Test
    void anUnknownRunIsRefusedNamingTheValidOnes() {
        Outcome o = bench("--out", tmp.toString(), "--runs", "sync,fastest");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("unknown run 'fastest'") && o.err().contains("async-s2-keep"), o.err());
    }

    @Test
    void nonPositiveSecondsPerRunAreRefused() {
        Outcome o = bench("--out", tmp.toString(), "--seconds-per-run", "0");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("--seconds-per-run must be a positive"), o.err());
    }

    @Test
    void negativeWarmupStepsAreRefused() {
        Outcome o = bench("--out", tmp.toString(), "--warmup-steps", "-1");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("--warmup-steps must be 0 or more"), o.err());
    }

    @Test
    void fewerThanTwoGenerationsAreRefused() {
        Outcome o = bench("--out", tmp.toString(), "--generations", "1");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("--generations must be at least 2"), o.err());
    }

    @Test
    void noPromptsAreRefused() {
        Outcome o = bench("--out", tmp.toString(), "--prompts", "0");

        assertEquals(2, o.exit());
        assertTrue(o.err().contains("--prompts must be at least 1"), o.err());
    }

    @Test
    void aQuickSyncAndAsyncRunWritesTheThreeFilesAndLeavesNoProcess() throws Exception {
        Path out = tmp.resolve("bench");
        int exit = Main.run("bench", "--out", out.toString(), "--model", "tiny", "--runs", "sync,async-s2",
                "--seconds-per-run", "2", "--warmup-steps", "1", "--max-completion-length", "16", "--no-pin");

        assertEquals(0, exit);
        assertEquals(List.of(), ProcessHandle.current().descendants().map(ProcessHandle::pid).toList(),
                "processes left behind");
        for (String f : List.of(BenchReport.JSON, BenchReport.MARKDOWN, BenchReport.PNG)) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        JsonNode runs = new ObjectMapper().readTree(out.resolve(BenchReport.JSON).toFile()).get("runs");
        assertEquals(List.of("sync", "async"), List.of(runs.get(0).get("mode").asText(), runs.get(1).get("mode").asText()));
        assertEquals(2, runs.get(1).get("max_staleness").asInt());
        for (JsonNode run : runs) {
            assertTrue(run.get("measured_steps").asInt() >= 1, run.toString());
            double serverIdle = run.get("server_idle_fraction").asDouble();
            assertTrue(serverIdle >= 0 && serverIdle <= 1, run.toString());
            assertTrue(run.get("staleness_max").asDouble() <= run.get("max_staleness").asDouble(), run.toString());
            assertTrue(run.get("completion_length").get("max").asInt() <= 16, run.toString());
            // both processes worked in every measured step, whatever else ran on their cores
            assertTrue(run.get("trainer_cpu_seconds_per_step").asDouble() > 0, run.toString());
            assertTrue(run.get("server_cpu_seconds_per_step").asDouble() > 0, run.toString());
        }
        assertTrue(Files.isRegularFile(out.resolve("sync").resolve("metrics.jsonl")));
        assertTrue(Files.isRegularFile(out.resolve("async-s2").resolve("server.log")));
    }
}
