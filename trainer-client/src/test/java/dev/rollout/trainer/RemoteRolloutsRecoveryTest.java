package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.client.ClientConfig;
import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.RolloutServerException;
import dev.rollout.client.ServerAddress;
import dev.rollout.model.CausalLM;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.rollout.RemoteRollouts;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollout servers that go away and come back (closed, then started again on the same port, as a restarted process
 * is: serving the weights it loaded, at version 0) under the trainer's rollout source.
 */
class RemoteRolloutsRecoveryTest {
    /** Enough patience for a server to start again here, even on a loaded machine; no wait is slept in full on success. */
    private static final RetryPolicy PATIENT = new RetryPolicy(60, Duration.ofMillis(50), Duration.ofMillis(500), 2.0, 0.0);
    private static final List<Prompt> PROMPTS = List.of(text("2+3="), text("7+8="), text("4+1="), text("9+9="));
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setN(2).setMaxTokens(3).setSeed(5).build();

    @TempDir
    static Path tmp;

    static Path model;
    static NDManager manager;
    static Checkpoint checkpoint;
    static Policy policy;

    @BeforeAll
    static void loadPolicy() throws IOException {
        model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        manager = NDManager.newBaseManager(Device.cpu());
        checkpoint = Checkpoint.open(model);
        policy = new Policy(new CausalLM(checkpoint.config(), checkpoint.loadWeights(manager)));
    }

    @AfterAll
    static void close() throws IOException {
        checkpoint.close();
        manager.close();
    }

    private static Prompt text(String t) {
        return Prompt.newBuilder().setText(t).build();
    }

    private static RemoteRollouts rollouts(RetryPolicy retry, LoopbackServer... servers) {
        List<ServerAddress> addresses = java.util.Arrays.stream(servers).map(s -> ServerAddress.parse(s.address())).toList();
        return new RemoteRollouts(new RolloutClient(ClientConfig.of(addresses).withRetry(retry)), policy, 1 << 20);
    }

    /** Closes {@code server} and starts a new one on its port, as a process killed and started again. */
    private static LoopbackServer restart(LoopbackServer server) throws Exception {
        int port = server.port();
        server.close();
        return new LoopbackServer(model, port);
    }

    private static void assertAllFromVersion(long version, GenerateBatchResponse r) {
        assertEquals(PROMPTS.size() * SAMPLING.getN(), r.getCompletionsCount());
        for (Completion c : r.getCompletionsList()) {
            assertEquals(version, c.getWeightVersion(), "prompt " + c.getPromptIndex() + " sample " + c.getSampleIndex());
        }
    }

    @Test
    void aServerRestartedBetweenStepsGetsTheCurrentWeightsBeforeItGenerates() throws Exception {
        LoopbackServer server = new LoopbackServer(model);
        try (RemoteRollouts rollouts = rollouts(PATIENT, server)) {
            rollouts.publish(5);
            server = restart(server);
            assertEquals(0, server.weightVersion());

            GenerateBatchResponse r = rollouts.generate(PROMPTS, SAMPLING, 5);

            assertAllFromVersion(5, r);
            assertEquals(5, server.weightVersion());
        } finally {
            server.close();
        }
    }

    @Test
    void withMinWeightVersionAnyARestartedServersOwnWeightsAreNeverUsed() throws Exception {
        LoopbackServer server = new LoopbackServer(model);
        try (RemoteRollouts rollouts = rollouts(PATIENT, server)) {
            rollouts.publish(3);
            server = restart(server);

            GenerateBatchResponse r = rollouts.generate(PROMPTS, SAMPLING, 0);

            assertAllFromVersion(3, r);
        } finally {
            server.close();
        }
    }

    @Test
    void aPushWhileTheOnlyServerIsDownWaitsForItAndGivesItThatVersion() throws Exception {
        LoopbackServer server = new LoopbackServer(model);
        int port = server.port();
        CompletableFuture<LoopbackServer> back = null;
        try (RemoteRollouts rollouts = rollouts(PATIENT, server)) {
            rollouts.publish(1);
            server.close();
            back = CompletableFuture.supplyAsync(() -> start(port), CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));

            rollouts.publish(2);

            assertEquals(2, back.get(30, TimeUnit.SECONDS).weightVersion());
            assertAllFromVersion(2, rollouts.generate(PROMPTS, SAMPLING, 2));
        } finally {
            if (back != null) {
                back.get(30, TimeUnit.SECONDS).close();
            }
        }
    }

    @Test
    void aDeadServersShareGoesToTheOthersAndItRejoinsWithTheCurrentWeights() throws Exception {
        LoopbackServer up = new LoopbackServer(model);
        LoopbackServer down = new LoopbackServer(model);
        int downPort = down.port();
        try (RemoteRollouts rollouts = rollouts(PATIENT, up, down)) {
            rollouts.publish(1);
            down.close();

            assertAllFromVersion(1, rollouts.generate(PROMPTS, SAMPLING, 1));
            rollouts.publish(2);
            assertEquals(2, up.weightVersion());

            down = new LoopbackServer(model, downPort);
            // a server that did not answer is asked again once the longest backoff has passed
            Thread.sleep(PATIENT.maxBackoff().toMillis() + 100);
            assertAllFromVersion(2, rollouts.generate(PROMPTS, SAMPLING, 2));
            assertEquals(2, down.weightVersion(), "the server that came back was sent the current weights");
        } finally {
            up.close();
            down.close();
        }
    }

    @Test
    void givesUpAfterTheRetryPolicysAttemptsNamingTheServerAndHowToContinue() throws Exception {
        LoopbackServer server = new LoopbackServer(model);
        String address = server.address();
        RetryPolicy three = new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(10), 1.0, 0.0);
        try (RemoteRollouts rollouts = rollouts(three, server)) {
            rollouts.publish(1);
            server.close();

            IllegalStateException e = assertThrows(IllegalStateException.class, () -> rollouts.generate(PROMPTS, SAMPLING, 1));

            assertTrue(e.getMessage().contains(address), e.getMessage());
            assertTrue(e.getMessage().contains("3 attempts"), e.getMessage());
            assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        }
    }

    @Test
    void aRequestTheServerRefusesFailsAtOnceAndIsNotTakenForARestart() throws Exception {
        try (LoopbackServer server = new LoopbackServer(model);
             RemoteRollouts rollouts = rollouts(PATIENT, server)) {
            rollouts.publish(1);

            RolloutServerException e = assertThrows(RolloutServerException.class,
                    () -> rollouts.generate(PROMPTS, SAMPLING.toBuilder().setMaxTokens(0).build(), 1));

            assertEquals(Status.Code.INVALID_ARGUMENT, e.status().getCode());
            assertEquals(1, e.attempts());
        }
    }

    private static LoopbackServer start(int port) {
        try {
            return new LoopbackServer(model, port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
