package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.trainer.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code trainer demo} with small settings: a real server process, a short warm-up, a few GRPO steps. */
class DemoCommandTest {
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    Path tmp;

    @Test
    void shortDemoExitsZeroWritesEveryArtifactAndLeavesNoProcess() throws Exception {
        Path out = tmp.resolve("demo");
        int exit = Main.run("demo", "--max-steps", "3", "--warmup-steps", "5", "--out", out.toString(),
                "--port", Integer.toString(freePort()), "--metrics-port", Integer.toString(freePort()),
                "--trainer-metrics-port", "-1");

        assertEquals(0, exit);
        assertEquals(List.of(), ProcessHandle.current().descendants().map(ProcessHandle::pid).toList(),
                "processes left behind");
        assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        byte[] png = Files.readAllBytes(out.resolve("reward.png"));
        assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(png, PNG_SIGNATURE.length));
        for (String f : List.of("samples.md", "summary.txt", "server.log")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json")) {
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-3").resolve(f)), "checkpoint-3/" + f);
        }
    }

    @Test
    void loraSwitchTrainsAnAllLinearAdapterAtTheLoraLearningRate() throws Exception {
        Path out = tmp.resolve("demo-lora");
        int exit = Main.run("demo", "--lora", "--max-steps", "2", "--warmup-steps", "2", "--out", out.toString(),
                "--port", Integer.toString(freePort()), "--metrics-port", Integer.toString(freePort()),
                "--trainer-metrics-port", "-1");

        assertEquals(0, exit);
        ObjectMapper json = new ObjectMapper();
        var adapter = json.readTree(out.resolve("checkpoint-2").resolve("adapter_config.json").toFile());
        assertEquals(16, adapter.path("r").asInt());
        assertEquals(32.0, adapter.path("lora_alpha").asDouble());
        List<String> targets = new ArrayList<>();
        adapter.path("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets);
        String firstStep = Files.readAllLines(out.resolve("metrics.jsonl")).get(0);
        assertEquals(1e-3, json.readTree(firstStep).path("learning_rate").asDouble(), 1e-12);
    }

    @Test
    void twoRunsWithTheSameSeedAreIdentical() throws Exception {
        List<List<String>> metrics = new ArrayList<>();
        List<byte[]> weights = new ArrayList<>();
        for (String run : List.of("first", "second")) {
            Path out = tmp.resolve(run);
            assertEquals(0, Main.run("demo", "--max-steps", "6", "--warmup-steps", "20", "--seed", "3", "--out", out.toString(),
                    "--port", Integer.toString(freePort()), "--metrics-port", Integer.toString(freePort()),
                    "--trainer-metrics-port", "-1"));
            metrics.add(Files.readAllLines(out.resolve("metrics.jsonl")).stream().map(DemoCommandTest::withoutTimings).toList());
            weights.add(Files.readAllBytes(out.resolve("checkpoint-6").resolve("model.safetensors")));
        }
        assertEquals(6, metrics.get(0).size());
        assertEquals(metrics.get(0), metrics.get(1), "rewards, losses and log-prob statistics of every step");
        assertArrayEquals(weights.get(0), weights.get(1), "final weights");
    }

    /** A metrics line without the keys that measure time, which differ from run to run. */
    private static String withoutTimings(String line) {
        try {
            ObjectNode values = (ObjectNode) new ObjectMapper().readTree(line);
            values.remove(List.of("time/generate", "time/train", "time/sync", "step_time", "tokens_per_second"));
            return values.toString();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void portAlreadyTakenExitsOneNamingThePortAndLeavesNoProcess() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(0));
            int port = taken.getLocalPort();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream original = System.err;
            int exit;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                exit = Main.run("demo", "--max-steps", "1", "--warmup-steps", "1", "--out", tmp.resolve("demo").toString(),
                        "--port", Integer.toString(port), "--metrics-port", Integer.toString(freePort()),
                        "--trainer-metrics-port", "-1");
            } finally {
                System.setErr(original);
            }

            assertEquals(1, exit);
            String message = err.toString(StandardCharsets.UTF_8);
            assertTrue(message.contains("port " + port + " is taken"), message);
            assertEquals(List.of(), ProcessHandle.current().descendants().map(ProcessHandle::pid).toList(),
                    "processes left behind");
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
