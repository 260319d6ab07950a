package dev.rollout.chaos;

import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The RolloutService methods with raw bytes for requests and responses. Generated stubs only send messages that
 * serialise, so a client that sends bytes protobuf cannot parse needs its own marshaller over a plain
 * {@link ClientCall}; the server still sees its ordinary method names.
 */
final class RawRpc {
    /** The RPCs the campaign fuzzes, by the name the report uses. */
    enum Method {
        GENERATE_BATCH(RolloutServiceGrpc.getGenerateBatchMethod()),
        GENERATE_STREAM(RolloutServiceGrpc.getGenerateStreamMethod()),
        GET_MODEL_INFO(RolloutServiceGrpc.getGetModelInfoMethod()),
        RESET_PREFIX_CACHE(RolloutServiceGrpc.getResetPrefixCacheMethod()),
        SYNC_WEIGHTS(RolloutServiceGrpc.getSyncWeightsMethod());

        final MethodDescriptor<byte[], byte[]> raw;

        Method(MethodDescriptor<?, ?> typed) {
            raw = MethodDescriptor.<byte[], byte[]>newBuilder()
                    .setType(typed.getType())
                    .setFullMethodName(typed.getFullMethodName())
                    .setRequestMarshaller(BYTES)
                    .setResponseMarshaller(BYTES)
                    .build();
        }

        String rpcName() {
            return raw.getBareMethodName();
        }
    }

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private RawRpc() {}

    /**
     * Sends {@code messages} on one call of {@code method} (one message for a unary or server-streaming RPC, any
     * number for SyncWeights), half-closes, reads every response, and completes with the call's final status. The
     * deadline bounds the whole call; a status is always delivered, so the future always completes.
     */
    static CompletableFuture<Status> call(Channel channel, Method method, List<byte[]> messages, long deadlineMillis) {
        return call(channel, method, messages, messages.size(), Ending.HALF_CLOSE, deadlineMillis);
    }

    /** How a client stream ends after its messages. */
    enum Ending {
        /** Half-closes: the request is complete as far as the client is concerned. */
        HALF_CLOSE,
        /** Cancels the call: a client that died or gave up mid-stream. */
        CANCEL,
        /** Sends nothing more and never half-closes: a stalled client, until its deadline passes. */
        STALL
    }

    /** Sends the first {@code count} of {@code messages}, then ends the stream as {@code ending} says. */
    static CompletableFuture<Status> call(Channel channel, Method method, List<byte[]> messages, int count, Ending ending,
                                          long deadlineMillis) {
        CompletableFuture<Status> done = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = channel.newCall(method.raw,
                CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                call.request(1);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                done.complete(status);
            }
        }, new Metadata());
        call.request(1);
        try {
            for (byte[] m : messages.subList(0, count)) {
                call.sendMessage(m);
            }
            switch (ending) {
                case HALF_CLOSE -> call.halfClose();
                case CANCEL -> call.cancel("the client stopped mid-stream", null);
                case STALL -> { }
            }
        } catch (RuntimeException e) {
            call.cancel("the client failed to send", e);
        }
        return done;
    }
}
