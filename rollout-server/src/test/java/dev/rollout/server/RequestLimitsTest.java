package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The limits that keep one request from taking the server: answered before any work, and a sync that never waits long. */
class RequestLimitsTest {
    private static final int CHUNK = 64 << 10;

    private static GenerateBatchRequest request(int prompts, int n, int maxTokens) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder().setSampling(SamplingParams.newBuilder()
                .setN(n).setMaxTokens(maxTokens).setIgnoreEos(true));
        for (int i = 0; i < prompts; i++) {
            b.addPrompts(TestServer.tokens(3, 4, 5));
        }
        return b.build();
    }

    @Test
    void aRequestOfMoreSequencesThanTheServerAllowsIsRefusedAndTheServerStillAnswers() throws Exception {
        try (TestServer server = TestServer.start(ServerOptions.defaults(0).withSequenceLimits(64, 128))) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> server.blocking().generateBatch(request(1000, 64, 256)));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("64000 sequences"), e.getStatus().getDescription());
            assertEquals(64, server.blocking().generateBatch(request(16, 4, 2)).getCompletionsCount());
        }
    }

    @Test
    void aTextFarLongerThanTheContextIsRefusedBeforeItIsTokenized() throws Exception {
        try (TestServer server = TestServer.start()) {
            GenerateBatchRequest huge = GenerateBatchRequest.newBuilder()
                    .addPrompts(Prompt.newBuilder().setText("count the apples and pears ".repeat(300_000)))
                    .setSampling(SamplingParams.newBuilder().setMaxTokens(4)).build();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> server.blocking().generateBatch(huge));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("8100000 bytes of text"), e.getStatus().getDescription());
        }
    }

    @Test
    void aSyncWaitsForALongGenerationNoLongerThanItsLimitThenAbortsItAndApplies() throws Exception {
        try (TestServer server = TestServer.start(ServerOptions.defaults(0).withMaxSyncWaitSeconds(1)
                .withInflightWeightUpdate(dev.rollout.engine.InflightWeightUpdate.WAIT))) {
            // 64 sequences of 1000 tokens through a 1024-token cache: minutes of work on a CPU
            CompletableFuture<GenerateBatchResponse> generation = new CompletableFuture<>();
            server.async().generateBatch(request(16, 4, 1000), WeightSyncTest.observerOf(generation));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (server.engine.runningSequences() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            WeightStream sync = WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), CHUNK);
            assertEquals(1, sync.send(server.async().withDeadlineAfter(30, TimeUnit.SECONDS)).getVersion());
            GenerateBatchResponse response = generation.get(30, TimeUnit.SECONDS);
            assertEquals(64, response.getCompletionsCount());
            long aborted = response.getCompletionsList().stream()
                    .filter(c -> c.getFinishReason() == FinishReason.FINISH_REASON_ABORTED).count();
            assertTrue(aborted > 0, "the sync went ahead of the generation: some completions end ABORTED");
            for (Completion c : response.getCompletionsList()) {
                assertEquals(0, c.getWeightVersion(), "every token came from the weights before the sync");
            }
            assertEquals(TestServer.NUM_BLOCKS, server.engine.cacheInfo().freeBlocks());
        }
    }
}
