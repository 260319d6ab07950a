package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class RolloutClientRetryTest {
    private static final RetryPolicy FAST = new RetryPolicy(200, Duration.ofMillis(10), Duration.ofMillis(50), 2.0, 0.2);
    private static final List<Prompt> PROMPTS = List.of(Prompt.newBuilder().setText("p0").build());
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setN(2).setMaxTokens(4).build();

    @Test
    void retriesWhileAServerIsUnavailableUntilItComesUp() throws Exception {
        int port = FakeRolloutServer.freePort();
        CompletableFuture<FakeRolloutServer> late = CompletableFuture.supplyAsync(
                () -> FakeRolloutServer.startOn("late", port), CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
        try (RolloutClient client = new RolloutClient(
                ClientConfig.of(List.of(new ServerAddress("127.0.0.1", port))).withRetry(FAST))) {
            GenerateBatchResponse r = client.generate(PROMPTS, SAMPLING, 0);

            assertEquals(2, r.getCompletionsCount());
            assertEquals(FakeRolloutService.completionText("late", "p0", 1), r.getCompletions(1).getText());
        } finally {
            late.get(10, TimeUnit.SECONDS).close();
        }
        assertEquals(1, late.get().service.generateRequests.size());
    }

    @Test
    void givesUpAfterTheConfiguredAttemptsNamingTheServerAndTheLastStatus() {
        ServerAddress nobody = new ServerAddress("127.0.0.1", FakeRolloutServer.freePort());
        RetryPolicy three = new RetryPolicy(3, Duration.ofMillis(5), Duration.ofMillis(5), 1.0, 0.0);
        try (RolloutClient client = new RolloutClient(ClientConfig.of(List.of(nobody)).withRetry(three))) {
            RolloutServerException e = assertThrows(RolloutServerException.class, () -> client.generate(PROMPTS, SAMPLING, 0));

            assertEquals(nobody, e.server());
            assertEquals(Status.Code.UNAVAILABLE, e.status().getCode());
            assertEquals(3, e.attempts());
            assertTrue(e.getMessage().contains(nobody.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
        }
    }

    @Test
    void doesNotRetryInvalidArgument() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())).withRetry(FAST))) {
            server.service.generateError = Status.INVALID_ARGUMENT.withDescription("max_tokens must be > 0");

            RolloutServerException e = assertThrows(RolloutServerException.class, () -> client.generate(PROMPTS, SAMPLING, 0));

            assertEquals(Status.Code.INVALID_ARGUMENT, e.status().getCode());
            assertEquals(1, e.attempts());
            assertEquals(1, server.service.generateRequests.size());
            assertTrue(e.getMessage().contains(server.address().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("max_tokens must be > 0"), e.getMessage());
        }
    }

    @Test
    void olderWeightsThanRequiredFailWithoutRetry() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())).withRetry(FAST))) {
            RolloutServerException e = assertThrows(RolloutServerException.class, () -> client.generate(PROMPTS, SAMPLING, 1));

            assertEquals(Status.Code.FAILED_PRECONDITION, e.status().getCode());
            assertEquals(1, server.service.generateRequests.size());
        }
    }

    @Test
    void aFailingServerFailsTheBatchNamingThatServer() throws Exception {
        try (FakeRolloutServer good = FakeRolloutServer.start("good");
             FakeRolloutServer bad = FakeRolloutServer.start("bad");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(good.address(), bad.address())))) {
            bad.service.generateError = Status.RESOURCE_EXHAUSTED.withDescription("queue full");

            RolloutServerException e = assertThrows(RolloutServerException.class,
                    () -> client.generate(List.of(PROMPTS.get(0), PROMPTS.get(0)), SAMPLING, 0));

            assertEquals(bad.address(), e.server());
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.status().getCode());
        }
    }

    @Test
    void awaitReadyWaitsUntilTheServerReportsServing() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            server.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
            AtomicBoolean switched = new AtomicBoolean();
            CompletableFuture.runAsync(() -> {
                switched.set(true);
                server.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
            }, CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS));

            client.awaitReady(Duration.ofSeconds(10));

            assertTrue(switched.get());
        }
    }

    @Test
    void awaitReadyGivesUpNamingAServerThatNeverServes() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            server.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);

            RolloutServerException e = assertThrows(RolloutServerException.class, () -> client.awaitReady(Duration.ofMillis(300)));

            assertEquals(server.address(), e.server());
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.status().getCode());
            assertTrue(e.getMessage().contains("NOT_SERVING"), e.getMessage());
        }
    }
}
