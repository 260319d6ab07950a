package dev.rollout.client;

import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;

/**
 * One SyncWeights client stream to one server under gRPC flow control: a message is produced and sent only while the
 * transport says it is ready, so at most about a flow-control window of tensor data is buffered per server however
 * large the model. gRPC calls the on-ready handler serially, when the call starts and whenever the window reopens.
 */
final class SyncCall implements ClientResponseObserver<SyncWeightsChunk, SyncWeightsResponse> {
    private final ServerAddress server;
    private final SyncStream messages;
    private final CompletableFuture<SyncWeightsResponse> result = new CompletableFuture<>();
    private final long startNanos = System.nanoTime();
    private volatile long endNanos;
    private volatile long bytesSent;
    private volatile ClientCallStreamObserver<SyncWeightsChunk> requests;
    private SyncWeightsResponse response;
    private boolean halfClosed;

    SyncCall(ServerAddress server, SyncStream messages) {
        this.server = server;
        this.messages = messages;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SyncWeightsChunk> requestStream) {
        this.requests = requestStream;
        requestStream.setOnReadyHandler(this::sendWhileReady);
    }

    private void sendWhileReady() {
        if (halfClosed || result.isDone()) {
            return;
        }
        try {
            while (requests.isReady() && messages.hasNext()) {
                SyncWeightsChunk m = messages.next();
                bytesSent += m.getTensor().getData().size();
                requests.onNext(m);
            }
            if (!messages.hasNext()) {
                halfClosed = true;
                requests.onCompleted();
            }
        } catch (RuntimeException e) {
            requests.cancel("the trainer could not encode the weights: " + e.getMessage(), e);
        }
    }

    @Override
    public void onNext(SyncWeightsResponse value) {
        response = value;
    }

    @Override
    public void onError(Throwable t) {
        endNanos = System.nanoTime();
        result.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        endNanos = System.nanoTime();
        result.complete(response);
    }

    /** Stops the stream (the server discards what it staged). */
    void cancel(String why) {
        ClientCallStreamObserver<SyncWeightsChunk> r = requests;
        if (r != null) {
            r.cancel(why, null);
        }
    }

    ServerAddress server() {
        return server;
    }

    CompletableFuture<SyncWeightsResponse> result() {
        return result;
    }

    long bytesSent() {
        return bytesSent;
    }

    double seconds() {
        return (endNanos - startNanos) / 1e9;
    }
}
