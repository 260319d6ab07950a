package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import dev.rollout.proto.v1.Completion;
import dev.rollout.server.sync.CancellableSubmission;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import java.util.function.Function;

/**
 * The sending side of one GenerateStream call. A completion that cannot be sent (its text does not decode, a log-prob
 * is not finite) ends the stream with an error naming it, after the completions already sent: the caller never sees a
 * stream end OK with a completion missing. The rest of the request is then aborted, so its KV blocks are freed at once.
 *
 * <p>Every method runs on the call's serial executor, so the flag needs no lock; {@link #attach} may run on another thread.
 */
final class CompletionStream {
    private final ServerCallStreamObserver<Completion> call;
    private final Function<CompletionResult, Completion> toProto;
    private final String requestName;
    private boolean failed;
    private CancellableSubmission submission;
    private boolean abortOnAttach;

    /** @param toProto the completion as sent, its text decoded; @param requestName "request X" for messages and logs */
    CompletionStream(ServerCallStreamObserver<Completion> call, Function<CompletionResult, Completion> toProto, String requestName) {
        this.call = call;
        this.toProto = toProto;
        this.requestName = requestName;
    }

    /** The request's submission, aborted if the stream has already failed. */
    void attach(CancellableSubmission s) {
        boolean abort;
        synchronized (this) {
            submission = s;
            abort = abortOnAttach;
        }
        if (abort && s != null) {
            s.cancel();
        }
    }

    /** Sends one finished completion, or ends the stream with the reason it cannot be sent. */
    void onCompletion(CompletionResult r) {
        if (failed || call.isCancelled()) {
            return;
        }
        Status finite = FiniteLogprobs.check(r);
        if (!finite.isOk()) {
            fail(finite);
            return;
        }
        Completion completion;
        try {
            completion = toProto.apply(r);
        } catch (Throwable e) {
            fail(InternalFailure.of("the completion for prompt " + r.promptIndex() + ", sample " + r.sampleIndex() + " of "
                    + requestName + " could not be decoded", e).getStatus());
            return;
        }
        call.onNext(completion);
    }

    /** Every completion has ended: the stream ends OK unless one of them could not be sent. */
    void onResults(List<CompletionResult> results) {
        if (!failed) {
            call.onCompleted();
        }
    }

    private void fail(Status status) {
        failed = true;
        call.onError(status.asException());
        CancellableSubmission s;
        synchronized (this) {
            abortOnAttach = true;
            s = submission;
        }
        if (s != null) {
            s.cancel();
        }
    }
}
