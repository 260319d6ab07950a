package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Requests whose bytes protobuf cannot parse get a status a person can act on, not UNKNOWN and a stack trace. */
class UnparseableRequestTest {
    /** Field 1 (length-delimited) announcing 5 bytes of which only 1 follows: no message type can parse it. */
    private static final byte[] TRUNCATED = {0x0a, 0x05, 0x01};
    /** GenerateBatchRequest.request_id (field 3, a string) holding 0xc3 0x28, which is not UTF-8. */
    private static final byte[] BAD_UTF8_REQUEST_ID = {0x1a, 0x02, (byte) 0xc3, 0x28};

    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private StatusRuntimeException unaryFails(io.grpc.MethodDescriptor<?, ?> method, byte[] request) {
        return assertThrows(StatusRuntimeException.class, () -> RawCalls.unary(server.channel, method, request));
    }

    @Test
    void anUnparseableGenerateBatchIsInternalWithAMessageNamingTheRpc() {
        Status status = unaryFails(RolloutServiceGrpc.getGenerateBatchMethod(), TRUNCATED).getStatus();
        assertEquals(Status.Code.INTERNAL, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("GenerateBatch request could not be parsed"), status.getDescription());
    }

    @Test
    void anUnparseableGenerateStreamIsInternal() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls.blockingServerStreamingCall(
                server.channel, RawCalls.raw(RolloutServiceGrpc.getGenerateStreamMethod()), io.grpc.CallOptions.DEFAULT, TRUNCATED).next());
        assertEquals(Status.Code.INTERNAL, e.getStatus().getCode(), e.getStatus().toString());
    }

    @Test
    void invalidUtf8InAStringFieldIsInvalidArgument() {
        Status status = unaryFails(RolloutServiceGrpc.getGenerateBatchMethod(), BAD_UTF8_REQUEST_ID).getStatus();
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("not valid UTF-8"), status.getDescription());
    }

    @Test
    void anUnparseableGetModelInfoIsInternal() {
        assertEquals(Status.Code.INTERNAL, unaryFails(RolloutServiceGrpc.getGetModelInfoMethod(), TRUNCATED).getStatus().getCode());
    }

    @Test
    void anUnparseableResetPrefixCacheIsInternal() {
        assertEquals(Status.Code.INTERNAL, unaryFails(RolloutServiceGrpc.getResetPrefixCacheMethod(), TRUNCATED).getStatus().getCode());
    }

    private WeightStream goodSync() {
        return WeightStream.of(1, false, TestServer.randomWeights(server.config, 2).values(), 1 << 20);
    }

    /** A header, then a chunk that cannot be parsed, the stream left open for the answer: the server's answer. */
    private Status syncWithAnUnparseableChunk() {
        List<byte[]> messages = List.of(goodSync().messages.get(0).toByteArray(), TRUNCATED);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> RawCalls.clientStream(server.channel, RolloutServiceGrpc.getSyncWeightsMethod(), messages, false));
        return RawCalls.statusOf(e).getStatus();
    }

    @Test
    void anUnparseableSyncChunkIsInternalAndChangesNothing() {
        Status status = syncWithAnUnparseableChunk();
        assertEquals(Status.Code.INTERNAL, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains("SyncWeights request could not be parsed"), status.getDescription());
        assertEquals(0, server.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion());
    }

    @Test
    void aSyncAfterAnUnparseableChunkIsAccepted() throws Exception {
        syncWithAnUnparseableChunk();
        assertEquals(1, goodSync().send(server.async()).getVersion());
    }

    @Test
    void theSyncIsReleasedBeforeTheClientHearsThatItsChunkWasUnparseable() {
        // Each refusal must find the sync free: the lock is released before the status goes out, so a client that
        // starts its next sync as soon as it has the answer is never told another sync is in progress.
        for (int i = 0; i < 300; i++) {
            Status status = syncWithAnUnparseableChunk();
            assertEquals(Status.Code.INTERNAL, status.getCode(), "stream " + i + ": " + status);
        }
    }

    @Test
    void manyUnparseableRequestsLogNoStackTraceFromGrpc() {
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger grpc = Logger.getLogger("io.grpc");
        grpc.addHandler(capture);
        try {
            for (int i = 0; i < 20; i++) {
                unaryFails(RolloutServiceGrpc.getGenerateBatchMethod(), TRUNCATED);
            }
        } finally {
            grpc.removeHandler(capture);
        }
        synchronized (capture) {
            assertEquals(List.of(), records.stream().map(LogRecord::getMessage).toList());
        }
    }
}
