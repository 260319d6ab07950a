package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rollout.client.ClientConfig;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerSyncResult;
import dev.rollout.client.WeightPusher;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.weights.HostTensor;
import io.grpc.Metadata;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The server image, started as deployed and waited on through its own health check, serves a client over the mapped
 * port, exports the dashboard's metrics, and is scraped by a real Prometheus.
 */
class ServerDeploymentTest {
    private static ServerDeployment deployment;

    @BeforeAll
    static void start() throws IOException {
        String image = LocalImages.build("server");
        DockerAvailability.requireImage(LocalImages.PROMETHEUS_IMAGE);
        deployment = new ServerDeployment(image, LocalImages.PROMETHEUS_IMAGE);
    }

    @AfterAll
    static void stop() {
        if (deployment != null) {
            deployment.close();
        }
    }

    private static RolloutServiceGrpc.RolloutServiceBlockingStub rollout() {
        return RolloutServiceGrpc.newBlockingStub(deployment.channel).withDeadlineAfter(2, TimeUnit.MINUTES);
    }

    private static ModelInfo modelInfo() {
        return rollout().getModelInfo(GetModelInfoRequest.getDefaultInstance());
    }

    private static GenerateBatchResponse generate(int n, int maxTokens) {
        return rollout().generateBatch(GenerateBatchRequest.newBuilder()
                .addPrompts(Prompt.newBuilder().setText("12 + 30 ="))
                .addPrompts(Prompt.newBuilder().setText("The capital of France is"))
                .setSampling(SamplingParams.newBuilder().setN(n).setMaxTokens(maxTokens).setTemperature(1.0f).setSeed(7))
                .build());
    }

    /** Pushes zeros for every tensor as {@code version}, with the bearer token the Secret would provide. */
    private static SyncWeightsResponse syncZeroWeights(ModelInfo model, long version) throws Exception {
        Metadata auth = new Metadata();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + ServerDeployment.AUTH_TOKEN);
        CompletableFuture<SyncWeightsResponse> done = new CompletableFuture<>();
        StreamObserver<SyncWeightsChunk> upload = RolloutServiceGrpc.newStub(deployment.channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth))
                .withDeadlineAfter(2, TimeUnit.MINUTES)
                .syncWeights(new StreamObserver<>() {
                    @Override
                    public void onNext(SyncWeightsResponse response) {
                        done.complete(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.completeExceptionally(new AssertionError("SyncWeights ended without a response"));
                    }
                });
        ZeroWeights.stream(model, version).forEach(upload::onNext);
        upload.onCompleted();
        return done.get(2, TimeUnit.MINUTES);
    }

    @Test
    void healthServiceReportsServing() {
        HealthCheckResponse health = HealthGrpc.newBlockingStub(deployment.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
    }

    @Test
    void modelInfoDescribesTheServedModelAndTheCacheItWasStartedWith() {
        ModelInfo model = modelInfo();
        assertEquals("LlamaForCausalLM", model.getArchitecture());
        assertEquals(512, model.getKvCache().getNumBlocks());
        assertTrue(model.getTensorsCount() > 0, "the model lists its tensors for weight sync");
    }

    @Test
    void generateBatchReturnsNCompletionsPerPromptWithTheirLogprobs() {
        long version = modelInfo().getWeightVersion();
        GenerateBatchResponse response = generate(3, 8);

        assertEquals(6, response.getCompletionsCount());
        long completionTokens = 0;
        for (Completion completion : response.getCompletionsList()) {
            assertTrue(completion.getTokenIdsCount() >= 1 && completion.getTokenIdsCount() <= 8, completion.toString());
            assertEquals(completion.getTokenIdsCount(), completion.getLogprobsCount(), "one log-prob per token");
            for (float logprob : completion.getLogprobsList()) {
                assertTrue(logprob <= 0f && Float.isFinite(logprob), "log-prob " + logprob);
            }
            assertEquals(version, completion.getWeightVersion());
            completionTokens += completion.getTokenIdsCount();
        }
        assertEquals(completionTokens, response.getUsage().getCompletionTokens());
    }

    @Test
    void syncWeightsOfEveryTensorBumpsTheVersionTheCompletionsCarry() throws Exception {
        ModelInfo model = modelInfo();
        long next = model.getWeightVersion() + 1;

        SyncWeightsResponse synced = syncZeroWeights(model, next);

        assertEquals(next, synced.getVersion());
        assertEquals(model.getTensorsCount(), synced.getTensorsUpdated());
        assertEquals(ZeroWeights.totalBytes(model), synced.getBytesReceived());
        assertEquals(next, modelInfo().getWeightVersion());
        for (Completion completion : generate(1, 4).getCompletionsList()) {
            assertEquals(next, completion.getWeightVersion());
        }
    }

    @Test
    void aTrainerAlternatesGenerationAndWeightPushesThroughItsClient() {
        ClientConfig config = ClientConfig.of(deployment.grpcAddress()).withBearerToken(ServerDeployment.AUTH_TOKEN);
        List<HostTensor> policy = RandomWeights.generate(ModelPresets.config("tiny"), 1234);
        try (RolloutClient client = new RolloutClient(config)) {
            WeightPusher pusher = new WeightPusher(client);
            List<Prompt> prompts = List.of(Prompt.newBuilder().setText("7 * 6 =").build());
            SamplingParams sampling = SamplingParams.newBuilder().setN(4).setMaxTokens(6).build();
            long version = client.modelInfo().getWeightVersion();
            for (int step = 0; step < 3; step++) {
                GenerateBatchResponse rollouts = client.generate(prompts, sampling, version);
                assertEquals(4, rollouts.getCompletionsCount());
                for (Completion completion : rollouts.getCompletionsList()) {
                    assertEquals(version, completion.getWeightVersion(), "step " + step);
                }
                version++;
                List<ServerSyncResult> pushed = pusher.push(version, policy, false);
                assertEquals(version, pushed.get(0).response().getVersion());
                assertEquals(policy.size(), pushed.get(0).response().getTensorsUpdated());
            }
            assertEquals(version, client.modelInfo().getWeightVersion());
        }
    }

    @Test
    void metricsEndpointExportsEveryServerMetricTheDashboardQueries() throws Exception {
        generate(2, 4); // labelled series (requests by status) appear once a request has finished
        Set<String> exported = MetricNames.inExposition(Http.get(deployment.metricsUrl()));
        Set<String> missing = new TreeSet<>();
        for (String name : GrafanaDashboardTest.queriedServerMetrics()) {
            if (!exported.contains(name)) {
                missing.add(name);
            }
        }
        assertEquals(Set.of(), missing, "dashboard metrics missing from the server's /metrics, which has " + exported);
    }

    @Test
    void prometheusScrapesGeneratedTokensFromTheServer() throws Exception {
        long generated = 0;
        for (Completion completion : generate(2, 8).getCompletionsList()) {
            generated += completion.getTokenIdsCount();
        }
        assertTrue(generated > 0);

        double seen = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (seen <= 0 && System.nanoTime() < deadline) {
            seen = prometheusValue("sum(rollout_generated_tokens_total{job=\"rollout-server\"})");
            if (seen <= 0) {
                Thread.sleep(500);
            }
        }
        assertTrue(seen > 0, "Prometheus never saw rollout_generated_tokens_total > 0; its targets: "
                + Http.get(deployment.prometheusUrl() + "/api/v1/targets"));
    }

    /** The value of an instant query that yields one sample, or 0 while it yields none. */
    private static double prometheusValue(String query) throws IOException, InterruptedException {
        JsonNode answer = new ObjectMapper().readTree(
                Http.get(deployment.prometheusUrl() + "/api/v1/query?query=" + Http.encode(query)));
        assertEquals("success", answer.path("status").asText(), answer.toString());
        JsonNode result = answer.path("data").path("result");
        return result.isEmpty() ? 0 : Double.parseDouble(result.get(0).path("value").get(1).asText());
    }
}
