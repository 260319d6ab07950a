package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every preset `serve --model` offers samples from its whole vocabulary and answers text and token prompts. */
class PresetGenerationTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "30m", "135m"})
    void everyPresetGeneratesFromTextAndTokenPrompts(String preset) throws Exception {
        try (ModelLoader.Loaded loaded = ModelLoader.load(preset, 0, Device.cpu())) {
            int vocab = loaded.served().model().config().vocabSize();
            Engine engine = new Engine(loaded.served().model(), EngineConfig.defaults().withNumBlocks(16).withDevice(Device.cpu()),
                    new SimpleMeterRegistry());
            try (RolloutServer server = RolloutServer.start(loaded.served(), engine, loaded.manager(), new SimpleMeterRegistry(),
                    ServerOptions.defaults(0))) {
                ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.port()).usePlaintext().build();
                try {
                    // Random weights sample all over the vocabulary: 4 x 12 draws reach ids far above the tiny 512.
                    GenerateBatchRequest request = GenerateBatchRequest.newBuilder()
                            .addPrompts(Prompt.newBuilder().setText("What is 3+4?"))
                            .addPrompts(TestServer.tokens(1, vocab / 2, vocab - 1))
                            .setSampling(SamplingParams.newBuilder().setN(2).setMaxTokens(12).setIgnoreEos(true).setSeed(7))
                            .build();
                    GenerateBatchResponse response = RolloutServiceGrpc.newBlockingStub(channel)
                            .withDeadlineAfter(120, TimeUnit.SECONDS).generateBatch(request);
                    assertEquals(4, response.getCompletionsCount());
                    for (Completion c : response.getCompletionsList()) {
                        assertEquals(12, c.getTokenIdsCount());
                        assertFalse(c.getText().isEmpty(), "the text of " + c.getTokenIdsList());
                        c.getLogprobsList().forEach(lp -> assertTrue(Float.isFinite(lp) && lp <= 0, "log-prob " + lp));
                    }
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
        }
    }
}
