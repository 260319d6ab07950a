package dev.rollout.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code rollout-server chaos} as a user runs it: its own server, a summary, the files of --out, the exit code. */
class ChaosCommandTest {
    @Test
    void aPassingRunExitsZeroAndWritesTheReportTheJsonAndTheServerLog(@TempDir Path out) throws Exception {
        int exit = new CommandLine(new ChaosCommand()).execute("--checks", "clients", "--clients", "2", "--seconds", "2",
                "--sync-interval-ms", "500", "--num-blocks", "64", "--out", out.toString());
        JsonNode json = new ObjectMapper().readTree(out.resolve("chaos.json").toFile());
        assertEquals(0, exit, Files.readString(out.resolve("chaos.md")));
        assertTrue(json.get("passed").asBoolean());
        assertEquals("concurrent clients", json.get("checks").get(0).get("name").asText());
        assertTrue(json.get("checks").get(0).get("calls").asLong() > 0);
        assertTrue(Files.readString(out.resolve("chaos.md")).contains("| concurrent clients |"));
        assertTrue(Files.readString(out.resolve("server.log")).contains(" INFO "), "the server's log went to the file");
    }

    @Test
    void aServerAlreadyRunningOnLoopbackIsTestedThroughTarget(@TempDir Path out) throws Exception {
        try (ChaosTarget server = ChaosTarget.start("tiny", 1, 64, null)) {
            int exit = new CommandLine(new ChaosCommand()).execute("--target", server.channel.authority(), "--checks", "clients",
                    "--clients", "2", "--seconds", "2", "--sync-interval-ms", "500", "--out", out.toString());
            JsonNode json = new ObjectMapper().readTree(out.resolve("chaos.json").toFile());
            assertEquals(0, exit, Files.readString(out.resolve("chaos.md")));
            assertEquals(server.channel.authority(), json.get("target").asText());
            assertEquals(-1, json.get("checks").get(0).get("warn_error_log_lines").asLong(), "no --server-log: not counted");
            assertTrue(server.info().getWeightVersion() >= 1, "the campaign's syncs reached the running server");
        }
    }

    @Test
    void badCountsAreRefusedBeforeAnythingStarts() {
        ChaosCommand command = new ChaosCommand();
        new CommandLine(command).parseArgs("--clients", "0");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, command::settings);
        assertTrue(e.getMessage().contains("--clients"), e.getMessage());
    }
}
