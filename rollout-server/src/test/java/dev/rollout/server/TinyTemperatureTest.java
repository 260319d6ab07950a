package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.SamplingParams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A temperature too small to divide by (1e-45 turns every logit into an infinity) samples greedily. */
class TinyTemperatureTest {
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private GenerateBatchResponse generate(float temperature) {
        return server.blocking().generateBatch(GenerateBatchRequest.newBuilder().addPrompts(TestServer.tokens(5, 6, 7))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(12).setN(2).setTemperature(temperature).setIgnoreEos(true)).build());
    }

    @Test
    void aSubnormalTemperatureGivesFiniteLogprobs() {
        for (Completion c : generate(1e-45f).getCompletionsList()) {
            assertEquals(12, c.getLogprobsCount());
            c.getLogprobsList().forEach(lp -> assertTrue(Float.isFinite(lp), "log-prob " + lp + " in " + c.getLogprobsList()));
        }
    }

    @Test
    void aTemperatureBelowTheThresholdSamplesAsGreedy() {
        assertEquals(generate(0f).getCompletionsList(), generate(dev.rollout.engine.SamplingParams.GREEDY_BELOW_TEMPERATURE / 2).getCompletionsList());
    }
}
