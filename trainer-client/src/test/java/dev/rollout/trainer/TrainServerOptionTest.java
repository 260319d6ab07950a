package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.cli.Main;
import dev.rollout.trainer.cli.ServerOption;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code trainer train --server host:port[,host:port]}, the shorthand for {@code rollout.servers}. */
class TrainServerOptionTest {
    @TempDir
    static Path tmp;

    static Path model;

    @BeforeAll
    static void materializeModel() throws Exception {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
    }

    /** A config file for a one-step run in {@code name}, plus extra YAML lines. */
    private static Path configFile(String name, String... extra) throws Exception {
        Path file = tmp.resolve(name + ".yaml");
        Files.writeString(file, TestRuns.yaml(model, tmp.resolve(name), 1) + String.join("\n", extra) + "\n");
        return file;
    }

    /** Runs {@code trainer args...}; returns the exit code and what went to stdout and stderr. */
    private static String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int exit = Main.run(args);
            return new String[] {Integer.toString(exit), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    @Test
    void trainsAgainstTheServerTheFlagNames() throws Exception {
        try (LoopbackServer server = new LoopbackServer(model)) {
            String[] r = run("train", "--config", configFile("flag").toString(), "--server", server.address(),
                    "--metrics-port", "-1");

            assertEquals("0", r[0], r[2]);
            assertEquals(2, server.weightVersion(), "the initial weights and one step were pushed to it");
        }
    }

    @Test
    void replacesTheServersOfTheConfigFile() throws Exception {
        TrainerConfig file = TrainerConfig.parse("rollout:\n  servers: ['old-node:50051']\n", List.of());

        List<String> overrides = ServerOption.overrides("gpu-1:50051, [::1]:7", file, List.of("seed=3"));

        TrainerConfig merged = TrainerConfig.parse("rollout:\n  servers: ['old-node:50051']\n", overrides);
        assertEquals(List.of("gpu-1:50051", "[::1]:7"), merged.rolloutServers());
        assertEquals(3L, merged.seed());
    }

    @Test
    void togetherWithSetRolloutServersIsAUsageError() throws Exception {
        String[] r = run("train", "--config", configFile("both").toString(), "--server", "localhost:1",
                "--set", "rollout.servers=localhost:2", "--metrics-port", "-1");

        assertEquals("2", r[0]);
        assertTrue(r[2].contains("--server and --set rollout.servers both name the rollout servers"), r[2]);
    }

    @Test
    void withAColocatedConfigIsAUsageError() throws Exception {
        String[] r = run("train", "--config", configFile("colocated", "rollout:", "  mode: colocate").toString(),
                "--server", "localhost:1", "--metrics-port", "-1");

        assertEquals("2", r[0]);
        assertTrue(r[2].contains("rollout.mode is colocate"), r[2]);
    }

    @Test
    void anAddressWithoutAPortIsAUsageErrorNamingIt() throws Exception {
        String[] r = run("train", "--config", configFile("noport").toString(), "--server", "gpu-node-1", "--metrics-port", "-1");

        assertEquals("2", r[0]);
        assertTrue(r[2].contains("'gpu-node-1' is not host:port"), r[2]);
    }

    @Test
    void helpExplainsTheFlag() {
        String[] r = run("train", "--help");

        assertEquals("0", r[0]);
        assertTrue(r[1].contains("--server=HOST:PORT[,HOST:PORT...]"), r[1]);
        assertTrue(r[1].contains("rollout.servers"), r[1]);
    }
}
