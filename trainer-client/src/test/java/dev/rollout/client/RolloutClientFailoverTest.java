package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The calls a trainer uses to move work off a server that went away: one attempt each, on chosen servers. */
class RolloutClientFailoverTest {
    private static final RetryPolicy PATIENT = new RetryPolicy(50, Duration.ofMillis(10), Duration.ofMillis(50), 2.0, 0.0);
    private static final List<Prompt> PROMPTS = List.of(Prompt.newBuilder().setText("p0").build(),
            Prompt.newBuilder().setText("p1").build());
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setN(2).setMaxTokens(4).build();
    private static final HostTensor NORM = HostTensor.ofFloats("model.norm.weight", new long[] {2}, new float[] {1f, 2f});

    @Test
    void generateOnceSendsEveryPromptToTheServersNamed() throws Exception {
        try (FakeRolloutServer a = FakeRolloutServer.start("A");
             FakeRolloutServer b = FakeRolloutServer.start("B");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(a.address(), b.address())))) {
            GenerateBatchResponse r = client.generateOnce(List.of(b.address()), PROMPTS, SAMPLING, 0);

            assertEquals(4, r.getCompletionsCount());
            assertEquals(FakeRolloutService.completionText("B", "p1", 1), r.getCompletions(3).getText());
            assertEquals(0, a.service.generateRequests.size());
        }
    }

    @Test
    void generateOnceDoesNotRetryAServerThatIsDown() {
        ServerAddress nobody = new ServerAddress("127.0.0.1", FakeRolloutServer.freePort());
        try (RolloutClient client = new RolloutClient(ClientConfig.of(List.of(nobody)).withRetry(PATIENT))) {
            RolloutServerException e = assertThrows(RolloutServerException.class,
                    () -> client.generateOnce(List.of(nobody), PROMPTS, SAMPLING, 0));

            assertEquals(nobody, e.server());
            assertEquals(Status.Code.UNAVAILABLE, e.status().getCode());
            assertEquals(1, e.attempts());
        }
    }

    @Test
    void generateOnceTakesAbortedCompletionsForAServerGoingAway() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            server.service.finishReason = FinishReason.FINISH_REASON_ABORTED;

            RolloutServerException e = assertThrows(RolloutServerException.class,
                    () -> client.generateOnce(List.of(server.address()), PROMPTS, SAMPLING, 0));

            assertEquals(Status.Code.UNAVAILABLE, e.status().getCode());
            assertTrue(e.getMessage().contains("aborted 4 of 4 completion(s)"), e.getMessage());
        }
    }

    @Test
    void probeReportsTheWeightVersionOfAServerThatIsUp() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            server.service.weightVersion = 7;

            assertEquals(7, client.probe(server.address(), Duration.ofSeconds(5)).getWeightVersion());
        }
    }

    @Test
    void probeOfAServerThatIsDownFailsWithinItsPatience() {
        ServerAddress nobody = new ServerAddress("127.0.0.1", FakeRolloutServer.freePort());
        try (RolloutClient client = new RolloutClient(ClientConfig.of(List.of(nobody)))) {
            RolloutServerException e = assertThrows(RolloutServerException.class,
                    () -> client.probe(nobody, Duration.ofMillis(200)));

            assertEquals(nobody, e.server());
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.status().getCode());
        }
    }

    @Test
    void aPushToChosenServersLeavesTheOthersAlone() throws Exception {
        try (FakeRolloutServer a = FakeRolloutServer.start("A");
             FakeRolloutServer b = FakeRolloutServer.start("B");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(a.address(), b.address())))) {
            List<ServerSyncResult> results = new WeightPusher(client).push(3, List.of(NORM), true, List.of(b.address()));

            assertEquals(List.of(b.address()), results.stream().map(ServerSyncResult::server).toList());
            assertEquals(3, b.service.weightVersion);
            assertNull(a.service.lastHeader);
        }
    }

    @Test
    void aServerTheClientDoesNotKnowIsRefused() throws Exception {
        try (FakeRolloutServer a = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(a.address())))) {
            ServerAddress other = new ServerAddress("127.0.0.1", FakeRolloutServer.freePort());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> client.generateOnce(List.of(other), PROMPTS, SAMPLING, 0));

            assertTrue(e.getMessage().contains(other.toString()), e.getMessage());
        }
    }
}
