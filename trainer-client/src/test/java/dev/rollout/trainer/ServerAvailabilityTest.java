package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.model.CausalLM;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.RemoteRollouts;
import dev.rollout.trainer.rollout.RolloutSource;
import dev.rollout.trainer.rollout.Rollouts;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer against several servers, one of which is not there (down at the start) or hangs (accepts calls and
 * never answers): the run goes on with the others, in sync mode too.
 */
class ServerAvailabilityTest {
    private static final List<Prompt> PROMPTS = List.of(text("2+3="), text("7+8="), text("4+1="), text("9+9="));
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setN(2).setMaxTokens(3).setSeed(5).build();
    /** Generous against a loaded machine; a trainer that stalls on the hung server would wait the call's 30 minutes. */
    private static final Duration BOUND = Duration.ofSeconds(120);

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

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static TrainerConfig config(String... servers) {
        return TrainerConfig.parse("", List.of("rollout.servers=[" + String.join(",", servers) + "]",
                "rollout.retry_backoff_seconds=0.05", "rollout.retry_max_backoff_seconds=0.2",
                "rollout.liveness_timeout_seconds=0.5", "rollout.max_attempts=100"));
    }

    @Test
    void theTrainerStartsWhileOneServerIsDownAndGivesItTheWeightsWhenItComesUp() throws Exception {
        int downPort = freePort();
        try (LoopbackServer up = new LoopbackServer(model);
             RolloutSource source = Rollouts.create(config(up.address(), "localhost:" + downPort), policy, checkpoint)) {
            source.publish(5);
            assertEquals(PROMPTS.size() * 2, source.generate(PROMPTS, SAMPLING, 5).getCompletionsCount());

            try (LoopbackServer late = new LoopbackServer(model, downPort)) {
                assertTimeoutPreemptively(BOUND, () -> {
                    while (late.weightVersion() != 5) {
                        GenerateBatchResponse r = source.generate(PROMPTS, SAMPLING, 5);
                        assertEquals(PROMPTS.size() * 2, r.getCompletionsCount());
                        Thread.sleep(50);
                    }
                });
                assertEquals(5, late.weightVersion(), "the server that came up got the trainer's weights before any work");
            }
        }
    }

    @Test
    void aHungServerIsFailedOverByTheLivenessDeadlineInSyncMode() throws Exception {
        try (LoopbackServer up = new LoopbackServer(model); HungRolloutServer hung = new HungRolloutServer();
             RolloutSource source = Rollouts.create(config(hung.address(), up.address()), policy, checkpoint)) {
            GenerateBatchResponse r = assertTimeoutPreemptively(BOUND, () -> source.generate(PROMPTS, SAMPLING, 0));

            assertEquals(PROMPTS.size() * 2, r.getCompletionsCount(), "the hung server's share was generated on the other");
        }
    }

    @Test
    void aHungServerDoesNotHoldUpAWeightPushForever() throws Exception {
        try (LoopbackServer up = new LoopbackServer(model); HungRolloutServer hung = new HungRolloutServer();
             RemoteRollouts source = (RemoteRollouts) Rollouts.create(config(up.address(), hung.address()), policy, checkpoint)) {
            assertTimeoutPreemptively(BOUND, () -> source.generate(PROMPTS, SAMPLING, 0));
            source.publish(3);
            assertEquals(3, up.weightVersion());
        }
    }
}
