package dev.rollout.server;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.WeightDigest;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

/** The messages of one SyncWeights stream, built the way a trainer sends them, and a way to send them. */
final class WeightStream {
    final List<SyncWeightsChunk> messages = new ArrayList<>();

    static WeightStream of(long version, boolean partial, Collection<HostTensor> tensors, int chunkBytes) {
        WeightStream s = new WeightStream();
        s.messages.add(SyncWeightsChunk.newBuilder().setHeader(SyncWeightsHeader.newBuilder()
                .setVersion(version).setTensorCount(tensors.size()).setPartial(partial)).build());
        for (HostTensor t : tensors) {
            ByteBuffer data = t.data();
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            CRC32C crc = new CRC32C();
            crc.update(bytes);
            for (int from = 0; from < bytes.length; from += chunkBytes) {
                int to = Math.min(bytes.length, from + chunkBytes);
                TensorChunk.Builder c = TensorChunk.newBuilder().setName(t.name()).setDtype(ProtoMapping.toProto(t.dtype()))
                        .setOffset(from).setData(ByteString.copyFrom(bytes, from, to - from));
                for (long d : t.shape()) {
                    c.addShape(d);
                }
                if (to == bytes.length) {
                    c.setLast(true).setCrc32C((int) crc.getValue());
                }
                s.messages.add(SyncWeightsChunk.newBuilder().setTensor(c).build());
            }
        }
        return s;
    }

    /** The content digest of {@code tensors} sent as they are stored, as a trainer computes it. */
    static byte[] digestOf(Collection<HostTensor> tensors) {
        List<WeightDigest.Entry> entries = new ArrayList<>();
        for (HostTensor t : tensors) {
            CRC32C crc = new CRC32C();
            crc.update(t.data());
            entries.add(new WeightDigest.Entry(t.name(), t.dtype(), t.shape(), (int) crc.getValue()));
        }
        return WeightDigest.of(entries);
    }

    /** This stream with {@code digest} as its header's content digest. */
    WeightStream withDigest(byte[] digest) {
        return edit(0, m -> SyncWeightsChunk.newBuilder()
                .setHeader(m.getHeader().toBuilder().setContentDigest(ByteString.copyFrom(digest))).build());
    }

    /** This stream with message {@code index} changed. */
    WeightStream edit(int index, UnaryOperator<SyncWeightsChunk> change) {
        WeightStream s = new WeightStream();
        s.messages.addAll(messages);
        s.messages.set(index, change.apply(messages.get(index)));
        return s;
    }

    /** Sends every message and half-closes; the response, or the server's error as an ExecutionException. */
    SyncWeightsResponse send(RolloutServiceGrpc.RolloutServiceStub stub) throws ExecutionException, InterruptedException {
        return send(stub, messages.size(), false);
    }

    /** Sends the first {@code count} messages, then either half-closes or breaks the stream (a client that died). */
    SyncWeightsResponse send(RolloutServiceGrpc.RolloutServiceStub stub, int count, boolean cutAfter)
            throws ExecutionException, InterruptedException {
        CompletableFuture<SyncWeightsResponse> result = new CompletableFuture<>();
        StreamObserver<SyncWeightsChunk> requests = stub.syncWeights(new StreamObserver<>() {
            @Override
            public void onNext(SyncWeightsResponse value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {}
        });
        for (int i = 0; i < count; i++) {
            requests.onNext(messages.get(i));
        }
        if (cutAfter) {
            requests.onError(new IllegalStateException("trainer crashed mid-sync"));
        } else {
            requests.onCompleted();
        }
        try {
            return result.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer to the sync within 60 s", e);
        }
    }

    static DType dtype(HostTensor t) {
        return ProtoMapping.toProto(t.dtype());
    }
}
