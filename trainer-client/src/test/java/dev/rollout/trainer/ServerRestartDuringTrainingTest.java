package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.client.ClientConfig;
import dev.rollout.client.RolloutClient;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.RolloutSource;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.trainer.rollout.ServerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reliability suite's restart check: a GRPO run against a real {@code rollout-server serve} process on loopback
 * that is killed with SIGKILL ({@link ProcessHandle#destroyForcibly()}, as {@code kill -9}) and started again on the
 * same port, alternately just before a weight push and with a generation in flight (the server frozen with SIGSTOP
 * while the request is sent, then killed). The run must take every step exactly once, never train on completions
 * from a restarted server's own weights (also with {@code rollout.min_weight_version: any}), and end with the metrics
 * of an uninterrupted run of the same seed (weight versions aside: that run used the same first server process, so
 * this one publishes above it).
 *
 * <p>Short by default (6 steps, 2 restarts). The longer version: {@code -Drollout.reliability.steps=40
 * -Drollout.reliability.restarts=10}.
 */
class ServerRestartDuringTrainingTest {
    private static final int STEPS = Integer.getInteger("rollout.reliability.steps", 6);
    private static final int RESTARTS = Integer.getInteger("rollout.reliability.restarts", 2);

    @TempDir
    static Path tmp;

    static Path model;
    static final List<StepRecord> faulted = new ArrayList<>();
    static final List<Long> versionBeforeStep = new ArrayList<>();
    static final Set<Long> serverPids = new TreeSet<>();
    static int kills;
    static List<String> faultedMetrics;
    static List<String> uninterruptedMetrics;

    @BeforeAll
    static void trainWithAndWithoutRestarts() throws Exception {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        int port = freePort();
        // both runs use the same server process at first (one process start fewer); the second one kills it
        AtomicReference<ServerProcess> server = new AtomicReference<>(startServer("server", port));
        try {
            awaitServing(port);
            uninterruptedMetrics = train("uninterrupted", new TreeSet<>(), new TreeSet<>(), null, server, port);
            // kills alternate: before the push of a step's weights, then during a step's generation
            Set<Integer> killBeforePublish = new TreeSet<>();
            Set<Integer> killDuringGenerate = new TreeSet<>();
            for (int k = 0; k < RESTARTS; k++) {
                int step = 1 + (k + 1) * (STEPS - 1) / (RESTARTS + 1);
                (k % 2 == 0 ? killBeforePublish : killDuringGenerate).add(step);
            }
            faultedMetrics = train("restarted", killBeforePublish, killDuringGenerate, faulted, server, port);
        } finally {
            server.get().close();
        }
    }

    @AfterAll
    static void noServerProcessLeftBehind() {
        assertEquals(List.of(), ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .map(ProcessHandle::pid).toList(), "processes left behind");
    }

    /**
     * A run against the server process, killed and restarted at those steps; returns metrics.jsonl without timings
     * and weight versions (the second run publishes above the first one's).
     */
    private static List<String> train(String name, Set<Integer> killBeforePublish, Set<Integer> killDuringGenerate,
                                      List<StepRecord> records, AtomicReference<ServerProcess> server, int port) throws Exception {
        TrainerConfig config = TestRuns.config(model, tmp.resolve(name), STEPS, "rollout.mode=server",
                "rollout.servers=localhost:" + port, "rollout.min_weight_version=any",
                "rollout.max_attempts=120", "rollout.retry_backoff_seconds=0.1", "rollout.retry_max_backoff_seconds=0.5");
        AtomicInteger step = new AtomicInteger();
        try (TrainingRun run = new TrainingRun(config, null, new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                (cfg, policy, checkpoint) -> new Faults(Rollouts.create(cfg, policy, checkpoint), step, killBeforePublish,
                        killDuringGenerate, server, name, port))) {
            run.publishInitialWeights(Rollouts.currentVersion(((Faults) run.rollouts()).delegate));
            run.train(0, r -> {
                step.set(r.step());
                if (records != null) {
                    records.add(r);
                    versionBeforeStep.add(r.metrics().get("weight_version").longValue() - 1);
                }
            });
        }
        return withoutTimings(Files.readAllLines(tmp.resolve(name).resolve("metrics.jsonl")));
    }

    /** The run's rollout source, with the server killed and restarted where the plan says. */
    private static final class Faults implements RolloutSource {
        private final RolloutSource delegate;
        private final AtomicInteger stepsDone;
        private final Set<Integer> killBeforePublish;
        private final Set<Integer> killDuringGenerate;
        private final AtomicReference<ServerProcess> server;
        private final String name;
        private final int port;

        Faults(RolloutSource delegate, AtomicInteger stepsDone, Set<Integer> killBeforePublish, Set<Integer> killDuringGenerate,
               AtomicReference<ServerProcess> server, String name, int port) {
            this.delegate = delegate;
            this.stepsDone = stepsDone;
            this.killBeforePublish = killBeforePublish;
            this.killDuringGenerate = killDuringGenerate;
            this.server = server;
            this.name = name;
            this.port = port;
        }

        @Override
        public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
            int step = stepsDone.get() + 1;
            if (killDuringGenerate.remove(step)) {
                // frozen, the server takes the request and answers nothing; it dies while the trainer waits
                signal("-STOP", server.get().pid());
                CompletableFuture.runAsync(this::killAndRestart, CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
            }
            return delegate.generate(prompts, sampling, minWeightVersion);
        }

        @Override
        public Publication publish(long version) {
            int step = stepsDone.get() + 1;
            if (version > 1 && killBeforePublish.remove(step)) {
                ServerProcess old = server.get();
                CompletableFuture.runAsync(this::killAndRestart);
                awaitExit(old);
            }
            return delegate.publish(version);
        }

        private synchronized void killAndRestart() {
            ServerProcess old = server.get();
            serverPids.add(old.pid());
            ProcessHandle.of(old.pid()).ifPresent(ProcessHandle::destroyForcibly);
            awaitExit(old);
            old.close();
            kills++;
            ServerProcess fresh = startServer(name + "-" + kills, port);
            serverPids.add(fresh.pid());
            server.set(fresh);
        }

        private static void awaitExit(ServerProcess p) {
            for (int i = 0; i < 600 && p.isAlive(); i++) {
                sleep(50);
            }
        }

        @Override
        public String describe() {
            return delegate.describe();
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    private static ServerProcess startServer(String name, int port) {
        try {
            return ServerProcess.start(List.of("--model", model.toString(), "--port", Integer.toString(port),
                    "--metrics-port", Integer.toString(freePort()), "--num-blocks", "256"), port, freePort(),
                    tmp.resolve(name + "-server.log"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void awaitServing(int port) {
        try (RolloutClient c = new RolloutClient(ClientConfig.of("localhost:" + port))) {
            c.awaitReady(Duration.ofSeconds(120));
        }
    }

    private static void signal(String signal, long pid) {
        try {
            new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Metrics lines without the weight version and the keys that measure time. */
    static List<String> withoutTimings(List<String> lines) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            ObjectNode values = (ObjectNode) new ObjectMapper().readTree(line);
            values.remove(List.of("weight_version", "time/generate", "time/train", "time/sync", "step_time", "tokens_per_second"));
            out.add(values.toString());
        }
        return out;
    }

    @Test
    void theServerWasKilledAndRestartedAsPlanned() {
        assertEquals(RESTARTS, kills);
        assertEquals(RESTARTS + 1, serverPids.size(), "server processes " + serverPids);
    }

    @Test
    void everyStepIsTakenExactlyOnce() throws Exception {
        List<Integer> expected = new ArrayList<>();
        for (int s = 1; s <= STEPS; s++) {
            expected.add(s);
        }
        assertEquals(expected, faulted.stream().map(StepRecord::step).toList());
        List<Integer> logged = new ArrayList<>();
        for (String line : faultedMetrics) {
            logged.add(new ObjectMapper().readTree(line).get("step").asInt());
        }
        assertEquals(expected, logged, "metrics.jsonl");
    }

    @Test
    void everyStepTrainsOnCompletionsFromTheWeightsTheTrainerPublishedLast() {
        for (int s = 0; s < faulted.size(); s++) {
            for (Completion c : faulted.get(s).completions()) {
                assertEquals(versionBeforeStep.get(s), c.getWeightVersion(), "step " + (s + 1));
            }
            double gap = faulted.get(s).metrics().get("sampling/sampling_logp_difference/mean");
            assertTrue(gap < 1e-4, "step " + (s + 1) + ": mean |sampling - trainer| log-prob difference " + gap);
        }
    }

    @Test
    void theWeightVersionRisesByOnePerStepThroughTheRestarts() {
        for (int s = 1; s < faulted.size(); s++) {
            assertEquals(versionBeforeStep.get(s - 1) + 1, versionBeforeStep.get(s), "step " + (s + 1));
        }
    }

    @Test
    void metricsEqualThoseOfAnUninterruptedRunOfTheSameSeed() {
        assertNotEquals(List.of(), uninterruptedMetrics);
        assertEquals(uninterruptedMetrics, faultedMetrics);
    }
}
