package dev.rollout.server;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Calls a server method with arbitrary bytes as the request messages, as a buggy or hostile client would. */
final class RawCalls {
    private RawCalls() {}

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

    static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> method) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(method.getType()).setFullMethodName(method.getFullMethodName())
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    /** A unary call with {@code request} as the request's bytes; throws the server's status as StatusRuntimeException. */
    static byte[] unary(Channel channel, MethodDescriptor<?, ?> method, byte[] request) {
        return ClientCalls.blockingUnaryCall(channel, raw(method), CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), request);
    }

    /**
     * A client stream of {@code messages}, half-closed after the last if {@code halfClose} (else left open, as a client
     * waiting for the server's answer); the response, or the status as ExecutionException.
     */
    static byte[] clientStream(Channel channel, MethodDescriptor<?, ?> method, List<byte[]> messages, boolean halfClose)
            throws ExecutionException, InterruptedException {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
                channel.newCall(raw(method), CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), new StreamObserver<>() {
                    @Override
                    public void onNext(byte[] value) {
                        result.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        result.complete(null);
                    }
                });
        for (byte[] m : messages) {
            requests.onNext(m);
        }
        if (halfClose) {
            requests.onCompleted();
        }
        try {
            return result.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer within 60 s", e);
        }
    }

    static StatusRuntimeException statusOf(ExecutionException e) {
        return (StatusRuntimeException) e.getCause();
    }
}
