package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What SIGTERM does: stop taking requests, let those in flight finish within the grace period, abort the rest. */
class DrainTest {
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private CompletableFuture<GenerateBatchResponse> startLongRequest() throws InterruptedException {
        CompletableFuture<GenerateBatchResponse> result = new CompletableFuture<>();
        server.async().generateBatch(TestServer.greedy(200, TestServer.tokens(5, 6)), WeightSyncTest.observerOf(result));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getKvCache().getFreeBlocks() == TestServer.NUM_BLOCKS
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        return result;
    }

    @Test
    void aRequestInFlightFinishesWithinTheGracePeriodAndNewOnesAreRefused() throws Exception {
        CompletableFuture<GenerateBatchResponse> inFlight = startLongRequest();
        CompletableFuture<Void> drained = CompletableFuture.runAsync(() -> {
            try {
                server.server.drain(Duration.ofSeconds(60));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        GenerateBatchResponse response = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(FinishReason.FINISH_REASON_LENGTH, response.getCompletions(0).getFinishReason());
        assertEquals(200, response.getCompletions(0).getTokenIdsCount());
        drained.get(60, TimeUnit.SECONDS);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> server.blocking().generateBatch(TestServer.greedy(2, TestServer.tokens(5))));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }

    @Test
    void aRequestStillRunningWhenTheGracePeriodEndsIsAbortedAndAnswered() throws Exception {
        CompletableFuture<GenerateBatchResponse> inFlight = startLongRequest();
        server.server.drain(Duration.ZERO);
        GenerateBatchResponse response = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(FinishReason.FINISH_REASON_ABORTED, response.getCompletions(0).getFinishReason());
    }
}
