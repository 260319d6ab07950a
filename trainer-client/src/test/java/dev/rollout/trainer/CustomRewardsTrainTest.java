package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.cli.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code trainer train} with a built-in reward, the example reward service ({@code examples/reward_server.py}, run by
 * {@code /usr/bin/python3} on a free loopback port) and the example Java reward ({@code examples/java}, compiled into
 * a jar handed over with {@code --reward-classpath}), against a rollout server on loopback. The run is taken once;
 * each test checks one thing. Skipped without python3 on a developer's machine, failed under CI=true.
 */
class CustomRewardsTrainTest {
    private static final String PYTHON = "/usr/bin/python3";
    private static final int STEPS = 2;
    private static final int COMPLETIONS_PER_STEP = 8;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Integer> PROMPTS = Map.of("2+3=", 5, "4+4=", 8, "1+6=", 7, "9+0=", 9);

    @TempDir
    static Path tmp;

    static int exitCode;
    static List<JsonNode> metrics = new ArrayList<>();
    static List<JsonNode> serviceRequests = new ArrayList<>();
    static List<JsonNode> javaCalls = new ArrayList<>();

    @BeforeAll
    static void trainWithThreeKindsOfReward() throws Exception {
        boolean python = available(PYTHON, "--version");
        assertTrue(python, PYTHON + " is missing: the example reward service runs on it (.ci/run installs it)");

        Path jar = ExampleRewardJar.build(tmp.resolve("rewards"));
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        Path dataset = tmp.resolve("sums.jsonl");
        StringBuilder rows = new StringBuilder();
        PROMPTS.forEach((prompt, sum) -> rows.append(JSON.createObjectNode().put("prompt", prompt)
                .put("answer", Integer.toString(sum)).put("level", sum % 3)).append('\n'));
        Files.writeString(dataset, rows);

        Process service = new ProcessBuilder(PYTHON, Path.of("..", "examples", "reward_server.py").toString(),
                "--port", "0", "--log", tmp.resolve("service.jsonl").toString(), "--max-seconds", "900")
                .redirectError(tmp.resolve("service.err").toFile()).start();
        try (LoopbackServer server = new LoopbackServer(model)) {
            String listening = new BufferedReader(new InputStreamReader(service.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertTrue(listening != null && listening.startsWith("listening on http://127.0.0.1:"),
                    "reward_server.py printed " + listening + "; its stderr: " + Files.readString(tmp.resolve("service.err")));
            String url = listening.substring("listening on ".length()).strip();
            Path config = tmp.resolve("train.yaml");
            Files.writeString(config, String.join("\n",
                    "trainer: grpo",
                    "model: '" + model + "'",
                    "dataset: '" + dataset + "'",
                    "reward_funcs: [accuracy, \"" + url + "\", com.example.LengthParity]",
                    "reward_kwargs:",
                    "  com.example.LengthParity: {log: '" + tmp.resolve("java.jsonl") + "'}",
                    "num_generations: 4",
                    "per_device_train_batch_size: " + COMPLETIONS_PER_STEP,
                    "max_completion_length: 4",
                    "learning_rate: 1.0e-3",
                    "max_steps: " + STEPS,
                    "save_steps: 0",
                    "seed: 7",
                    "device: cpu",
                    "output_dir: '" + tmp.resolve("run") + "'",
                    "rollout:",
                    "  servers: [" + server.address() + "]",
                    ""));
            exitCode = Main.run("train", "--config", config.toString(), "--reward-classpath", jar.toString(),
                    "--metrics-port", "-1");
        } finally {
            service.destroy();
            service.waitFor(30, TimeUnit.SECONDS);
        }
        for (String line : Files.readAllLines(tmp.resolve("run").resolve("metrics.jsonl"))) {
            metrics.add(JSON.readTree(line));
        }
        for (String line : Files.readAllLines(tmp.resolve("service.jsonl"))) {
            serviceRequests.add(JSON.readTree(line));
        }
        for (String line : Files.readAllLines(tmp.resolve("java.jsonl"))) {
            javaCalls.add(JSON.readTree(line));
        }
    }

    @AfterAll
    static void noProcessLeftBehind() {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
    }

    @Test
    void trainingExitsZeroAfterTheConfiguredSteps() {
        assertEquals(0, exitCode);
        assertEquals(STEPS, metrics.size());
    }

    @Test
    void eachRewardIsLoggedUnderItsName() {
        for (JsonNode step : metrics) {
            for (String name : List.of("accuracy", "score", "LengthParity")) {
                assertTrue(step.path("rewards/" + name + "/mean").isNumber(), "rewards/" + name + "/mean in " + step);
            }
        }
    }

    @Test
    void theServiceGetsOneRequestPerStepWithEveryArgumentAndColumnAsAList() {
        assertEquals(STEPS, serviceRequests.size());
        for (JsonNode request : serviceRequests) {
            List<String> keys = new ArrayList<>();
            request.fieldNames().forEachRemaining(keys::add);
            assertEquals(List.of("prompts", "completions", "completion_ids", "answer", "level"), keys.stream().sorted(
                    (a, b) -> order(a) - order(b)).toList());
            for (String key : keys) {
                assertEquals(COMPLETIONS_PER_STEP, request.get(key).size(), key);
            }
            for (int i = 0; i < COMPLETIONS_PER_STEP; i++) {
                String prompt = request.get("prompts").get(i).asText();
                int sum = PROMPTS.get(prompt);
                assertEquals(Integer.toString(sum), request.get("answer").get(i).asText(), "answer of " + prompt);
                assertEquals(sum % 3, request.get("level").get(i).asInt(), "level of " + prompt);
                int ids = request.get("completion_ids").get(i).size();
                assertTrue(ids >= 1 && ids <= 4, ids + " completion ids");
            }
        }
    }

    private static int order(String key) {
        int at = List.of("prompts", "completions", "completion_ids", "answer", "level").indexOf(key);
        return at < 0 ? 99 : at;
    }

    @Test
    void theJavaRewardSeesTheSameCompletionsAsTheServiceWithTheirRows() {
        assertEquals(STEPS * COMPLETIONS_PER_STEP, javaCalls.size());
        for (int s = 0; s < STEPS; s++) {
            JsonNode request = serviceRequests.get(s);
            for (int i = 0; i < COMPLETIONS_PER_STEP; i++) {
                JsonNode call = javaCalls.get(s * COMPLETIONS_PER_STEP + i);
                assertEquals(request.get("prompts").get(i).asText(), call.get("prompt").asText());
                assertEquals(request.get("completions").get(i).asText(), call.get("completion").asText());
                assertEquals(request.get("completion_ids").get(i), call.get("completion_ids"));
                String row = call.get("row").asText();
                assertTrue(row.contains("answer=" + request.get("answer").get(i).asText())
                        && row.contains("level=" + request.get("level").get(i).asInt()), row);
                assertFalse(row.contains("prompt="), "the row holds the other columns: " + row);
            }
        }
    }

    @Test
    void theLoggedMeansAreTheMeansOfWhatTheRewardsComputedFromTheirInputs() {
        for (int s = 0; s < STEPS; s++) {
            JsonNode request = serviceRequests.get(s);
            double exact = 0;
            double even = 0;
            for (int i = 0; i < COMPLETIONS_PER_STEP; i++) {
                exact += request.get("completions").get(i).asText().strip().equals(request.get("answer").get(i).asText()) ? 1 : 0;
                even += request.get("completion_ids").get(i).size() % 2 == 0 ? 1 : 0;
            }
            assertEquals(exact / COMPLETIONS_PER_STEP, metrics.get(s).get("rewards/score/mean").asDouble(), 1e-9);
            assertEquals(even / COMPLETIONS_PER_STEP, metrics.get(s).get("rewards/LengthParity/mean").asDouble(), 1e-9);
        }
    }

    private static boolean available(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
