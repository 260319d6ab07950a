package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Context;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** SyncWeights against generation in flight, per --inflight-weight-update, over a real server. */
class InflightWeightUpdateServerTest {
    private static final int CHUNK = 1 << 16;

    private static GenerateBatchRequest request(int prompts, int n, int maxTokens) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder().setSampling(SamplingParams.newBuilder()
                .setN(n).setMaxTokens(maxTokens).setSeed(5).setIgnoreEos(true));
        for (int i = 0; i < prompts; i++) {
            b.addPrompts(TestServer.tokens(3, 4, 5 + i));
        }
        return b.build();
    }

    private static TestServer start(InflightWeightUpdate mode) throws Exception {
        return TestServer.start(ServerOptions.defaults(0).withInflightWeightUpdate(mode));
    }

    private static void awaitRunning(TestServer server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (server.engine.runningSequences() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(server.engine.runningSequences() > 0, "the generation never started");
    }

    private static long sync(TestServer server, long version, long seed) throws Exception {
        WeightStream sync = WeightStream.of(version, false, TestServer.randomWeights(server.config, seed).values(), CHUNK);
        return sync.send(server.async().withDeadlineAfter(60, TimeUnit.SECONDS)).getVersion();
    }

    @ParameterizedTest
    @EnumSource(value = InflightWeightUpdate.class, names = {"KEEP", "RECOMPUTE"})
    void aSyncIsAppliedWhileALongGenerationStillRuns(InflightWeightUpdate mode) throws Exception {
        try (TestServer server = start(mode)) {
            // 64 sequences of 1000 tokens through a 1024-token cache: minutes of work on a CPU. The wait mode would
            // hold this sync for --max-sync-wait-seconds, then abort the generation: here it must still be running.
            CompletableFuture<GenerateBatchResponse> generation = new CompletableFuture<>();
            Context.CancellableContext call = Context.current().withCancellation();
            call.run(() -> server.async().generateBatch(request(16, 4, 1000), WeightSyncTest.observerOf(generation)));
            awaitRunning(server);

            assertEquals(1, sync(server, 1, 2));

            assertFalse(generation.isDone(), "the sync waited for the generation");
            assertEquals(1, server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion());
            assertTrue(server.engine.runningSequences() + server.engine.waitingSequences() > 0);
            double carried = server.registry.get("rollout.inflight.weight.updates").tag("mode", mode.label()).counter().count();
            assertTrue(carried > 0, "sequences carried across the swap are counted under mode " + mode.label());
            call.cancel(null);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (server.engine.cacheInfo().freeBlocks() < TestServer.NUM_BLOCKS && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(TestServer.NUM_BLOCKS, server.engine.cacheInfo().freeBlocks(), "no block leaked across the swap");
        }
    }

    @Test
    void underWaitNoCompletionSpansTwoVersions() throws Exception {
        try (TestServer server = start(InflightWeightUpdate.WAIT)) {
            CompletableFuture<GenerateBatchResponse> generation = new CompletableFuture<>();
            server.async().generateBatch(request(4, 2, 60), WeightSyncTest.observerOf(generation));
            awaitRunning(server);
            assertEquals(1, sync(server, 1, 2));
            GenerateBatchResponse before = generation.get(60, TimeUnit.SECONDS);
            GenerateBatchResponse after = server.blocking().generateBatch(request(4, 2, 20));
            for (Completion c : before.getCompletionsList()) {
                assertEquals(List.of(0L), c.getTokenWeightVersionsList().stream().distinct().toList(), c.toString());
            }
            for (Completion c : after.getCompletionsList()) {
                assertEquals(List.of(1L), c.getTokenWeightVersionsList().stream().distinct().toList());
                assertEquals(1, c.getWeightVersion());
            }
            assertEquals(0, server.registry.get("rollout.inflight.weight.updates").tag("mode", "wait").counter().count());
        }
    }

    @ParameterizedTest
    @EnumSource(InflightWeightUpdate.class)
    void getModelInfoReportsTheMode(InflightWeightUpdate mode) throws Exception {
        try (TestServer server = start(mode)) {
            assertEquals(mode.label(),
                    server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getInflightWeightUpdate());
        }
    }

    @Test
    void theDefaultIsRecompute() throws Exception {
        try (TestServer server = TestServer.start()) {
            assertEquals("recompute",
                    server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getInflightWeightUpdate());
        }
    }
}
