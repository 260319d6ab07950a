package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.AttentionBackend;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.SamplingParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code serve --attention-backend tensor} answers over gRPC with the tokens and log-probs of {@code java}. */
class AttentionBackendServeTest {

    private static List<Completion> generate(AttentionBackend backend, GenerateBatchRequest request) throws Exception {
        try (TestServer server = TestServer.start(backend)) {
            return server.blocking().generateBatch(request).getCompletionsList();
        }
    }

    @Test
    void theTensorBackendServesTheJavaBackendsLogprobs() throws Exception {
        GenerateBatchRequest request = GenerateBatchRequest.newBuilder()
                .addPrompts(TestServer.tokens(5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21))
                .addPrompts(TestServer.tokens(30, 31))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(24).setN(3).setSeed(5).setTemperature(0.9f)
                        .setIgnoreEos(true))
                .build();
        List<Completion> java = generate(AttentionBackend.JAVA, request);
        List<Completion> tensor = generate(AttentionBackend.TENSOR, request);
        assertEquals(6, java.size());
        assertEquals(java.size(), tensor.size());
        for (int i = 0; i < java.size(); i++) {
            assertEquals(java.get(i).getTokenIdsList(), tensor.get(i).getTokenIdsList(), "completion " + i);
            for (int t = 0; t < java.get(i).getLogprobsCount(); t++) {
                float a = java.get(i).getLogprobs(t);
                float b = tensor.get(i).getLogprobs(t);
                assertTrue(Math.abs(a - b) <= 1e-5f, "completion " + i + " token " + t + ": java " + a + ", tensor " + b);
            }
        }
    }
}
