package dev.rollout.server;

import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.server.sync.WeightSync;
import dev.rollout.server.sync.WeightSyncSession;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one SyncWeights stream, holding the right to sync ({@link WeightSync#begin()}) from the call's
 * start until it ends, however it ends: applied, refused, half-closed early, cancelled, past its deadline, idle past
 * {@link WeightSync#idleTimeout()}, an unparseable message, or an exception. The call's cancel and close handlers
 * release it too, so no path through gRPC can leave the sync held. Methods are synchronized because the idle timer
 * fires on its own thread.
 */
final class SyncWeightsCall implements StreamObserver<SyncWeightsChunk> {
    private static final Logger log = LoggerFactory.getLogger(SyncWeightsCall.class);

    private final WeightSync weightSync;
    private final WeightSyncSession session;
    private final ServerCallStreamObserver<SyncWeightsResponse> responses;
    private final long startNanos;
    private ScheduledFuture<?> idleTimer;
    private boolean finished;

    private SyncWeightsCall(WeightSync weightSync, WeightSyncSession session, ServerCallStreamObserver<SyncWeightsResponse> responses,
                            long startNanos) {
        this.weightSync = weightSync;
        this.session = session;
        this.responses = responses;
        this.startNanos = startNanos;
    }

    /** Starts serving the stream; must be called from the service method, before it returns. */
    static StreamObserver<SyncWeightsChunk> start(WeightSync weightSync, StreamObserver<SyncWeightsResponse> observer) {
        long start = System.nanoTime();
        ServerCallStreamObserver<SyncWeightsResponse> responses = (ServerCallStreamObserver<SyncWeightsResponse>) observer;
        WeightSyncSession session;
        try {
            session = weightSync.begin();
        } catch (StatusException e) {
            observer.onError(e);
            return new DiscardingObserver();
        }
        SyncWeightsCall call = new SyncWeightsCall(weightSync, session, responses, start);
        responses.setOnCancelHandler(call::end);
        responses.setOnCloseHandler(call::end);
        call.restartIdleTimer();
        return call;
    }

    @Override
    public synchronized void onNext(SyncWeightsChunk chunk) {
        if (finished) {
            return;
        }
        restartIdleTimer();
        try {
            session.accept(chunk);
        } catch (StatusException e) {
            fail(e);
            return;
        }
        if (session.alreadyApplied()) {
            log.info("weight sync of version {} is a retry of the one serving (same content digest): nothing to change", session.version());
            end();
            responses.onNext(SyncWeightsResponse.newBuilder().setVersion(session.version()).setAlreadyApplied(true)
                    .setSeconds((System.nanoTime() - startNanos) / 1e9).build());
            responses.onCompleted();
        }
    }

    @Override
    public synchronized void onError(Throwable t) {
        // The client went away mid-stream: the staged tensors are dropped, the serving weights untouched.
        if (!finished) {
            log.info("weight sync stream broke after {} bytes: {}; nothing changed", session.bytesReceived(), Status.fromThrowable(t));
            end();
        }
    }

    @Override
    public synchronized void onCompleted() {
        if (finished) {
            return;
        }
        // From here the server works (staging, waiting for the swap): the client owes no more messages.
        cancelIdleTimer();
        try {
            SyncWeightsResponse response = weightSync.apply(session.finish(), startNanos);
            log.info("weights now at version {}: {} tensors, {} bytes in {} s", response.getVersion(),
                    response.getTensorsUpdated(), response.getBytesReceived(), String.format("%.3f", response.getSeconds()));
            end();
            responses.onNext(response);
            responses.onCompleted();
        } catch (StatusException e) {
            fail(e);
        } catch (RuntimeException | Error e) {
            fail(InternalFailure.of("the weight sync of version " + session.version() + " failed; the old weights still serve", e));
        }
    }

    private synchronized void idleTimeout() {
        if (finished) {
            return;
        }
        long seconds = weightSync.idleTimeout().toSeconds();
        log.warn("weight sync stream sent nothing for {} s after {} bytes; abandoned, nothing changed", seconds, session.bytesReceived());
        fail(Status.DEADLINE_EXCEEDED.withDescription("the weight sync stream sent no message for " + seconds
                + " s (the server's --sync-idle-timeout); it was abandoned and the old weights still serve").asException());
    }

    private void fail(StatusException e) {
        end();
        responses.onError(e);
    }

    /** Releases the sync and its staging memory; safe to call more than once and from gRPC's handlers. */
    private synchronized void end() {
        if (finished) {
            return;
        }
        finished = true;
        cancelIdleTimer();
        session.discard();
        weightSync.release();
    }

    private void restartIdleTimer() {
        cancelIdleTimer();
        idleTimer = weightSync.afterIdleTimeout(this::idleTimeout);
    }

    private void cancelIdleTimer() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    /** Swallows the rest of a stream that has already been refused. */
    private static final class DiscardingObserver implements StreamObserver<SyncWeightsChunk> {
        @Override
        public void onNext(SyncWeightsChunk value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
    }
}
