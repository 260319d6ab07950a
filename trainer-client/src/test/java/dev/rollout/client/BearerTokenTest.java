package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.weights.HostTensor;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BearerTokenTest {
    private static final List<Prompt> PROMPTS = List.of(Prompt.newBuilder().setText("p0").build());
    private static final SamplingParams SAMPLING = SamplingParams.newBuilder().setMaxTokens(4).build();
    private static final HostTensor NORM = HostTensor.ofFloats("model.norm.weight", new long[] {2}, new float[] {1f, 2f});

    @Test
    void theTokenIsSentOnEveryRpc() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())).withBearerToken("s3cret"))) {
            client.awaitReady(Duration.ofSeconds(5));
            client.generate(PROMPTS, SAMPLING, 0);
            client.modelInfo();
            client.resetPrefixCache();
            new WeightPusher(client).push(1, List.of(NORM), true);

            for (String rpc : List.of("Check", "GenerateBatch", "GetModelInfo", "ResetPrefixCache", "SyncWeights")) {
                assertEquals(List.of("Bearer s3cret"),
                        server.callsOf(rpc).stream().map(FakeRolloutServer.Call::authorization).toList(), rpc);
            }
        }
    }

    @Test
    void noAuthorizationHeaderWithoutAToken() throws Exception {
        try (FakeRolloutServer server = FakeRolloutServer.start("A");
             RolloutClient client = new RolloutClient(ClientConfig.of(List.of(server.address())))) {
            client.generate(PROMPTS, SAMPLING, 0);

            assertNull(server.callsOf("GenerateBatch").get(0).authorization());
        }
    }
}
