package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Over a real server: a GenerateStream whose completions cannot be decoded (here the tokenizer is closed, as it is
 * while a server shuts down) ends with INTERNAL naming the completion, instead of ending OK with it left out.
 */
class StreamDecodeFailureTest {
    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Test
    void aStreamWhoseCompletionCannotBeDecodedEndsWithInternalNamingItAndFreesItsBlocks() throws Exception {
        server.tokenizer.close();
        GenerateBatchRequest request = GenerateBatchRequest.newBuilder().addPrompts(TestServer.tokens(5, 6, 7)).setRequestId("r7")
                .setSampling(SamplingParams.newBuilder().setN(3).setMaxTokens(4).setTemperature(0f).setIgnoreEos(true)).build();
        Iterator<Completion> stream = server.blocking().generateStream(request);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> {
            while (stream.hasNext()) {
                stream.next();
            }
        }, "the stream must not end OK without its completions");
        Status status = e.getStatus();
        assertEquals(Status.Code.INTERNAL, status.getCode());
        assertTrue(status.getDescription().matches("the completion for prompt 0, sample \\d of request r7 could not be decoded.*"),
                status.getDescription());
        assertTrue(status.getDescription().contains("error id"), status.getDescription());
        assertFalse(status.getDescription().contains("Exception"), status.getDescription());
        awaitAllBlocksFree();
    }

    private void awaitAllBlocksFree() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (freeBlocks() != TestServer.NUM_BLOCKS && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(TestServer.NUM_BLOCKS, freeBlocks());
    }

    private int freeBlocks() {
        return server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getKvCache().getFreeBlocks();
    }
}
