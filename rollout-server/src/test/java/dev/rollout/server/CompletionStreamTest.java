package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.FinishReason;
import dev.rollout.engine.RequestHandle;
import dev.rollout.proto.v1.Completion;
import dev.rollout.server.sync.CancellableSubmission;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** A GenerateStream call never ends OK with a completion missing: one that cannot be sent ends the stream with an error. */
class CompletionStreamTest {
    private static CompletionResult completion(int prompt, int sample, float logprob) {
        return new CompletionResult(prompt, sample, new int[] {5}, new int[] {7}, new float[] {logprob}, FinishReason.LENGTH, 3, new long[] {3}, 0);
    }

    private static final Function<CompletionResult, Completion> DECODES = r -> ProtoMapping.toProto(r, "text");

    /** Fails to decode the completion of prompt 0, sample 1, as a broken tokenizer would. */
    private static final Function<CompletionResult, Completion> SAMPLE_1_FAILS = r -> {
        if (r.sampleIndex() == 1) {
            throw new IllegalStateException("Native resource has been release already.");
        }
        return DECODES.apply(r);
    };

    @Test
    void aStreamWhoseCompletionsAllDecodeEndsOkAfterSendingEach() {
        Call call = new Call();
        CompletionStream stream = new CompletionStream(call, DECODES, "request r1");
        List<CompletionResult> results = List.of(completion(0, 0, -1f), completion(0, 1, -2f));
        results.forEach(stream::onCompletion);
        stream.onResults(results);
        assertEquals(2, call.sent.size());
        assertTrue(call.completed);
        assertNull(call.error);
    }

    @Test
    void aCompletionThatCannotBeDecodedEndsTheStreamWithInternalNamingItAfterThoseAlreadySent() {
        Call call = new Call();
        CompletionStream stream = new CompletionStream(call, SAMPLE_1_FAILS, "request r1");
        List<CompletionResult> results = List.of(completion(0, 0, -1f), completion(0, 1, -2f), completion(0, 2, -3f));
        results.forEach(stream::onCompletion);
        stream.onResults(results);
        assertEquals(1, call.sent.size(), "the completion sent before the failure stays sent; none after it");
        assertEquals(0, call.sent.get(0).getSampleIndex());
        assertFalse(call.completed);
        assertEquals(Status.Code.INTERNAL, call.error.getCode());
        String description = call.error.getDescription();
        assertTrue(description.contains("prompt 0, sample 1 of request r1 could not be decoded"), description);
        assertTrue(description.contains("error id"), description);
        assertFalse(description.contains("IllegalStateException") || description.contains("Native resource"), description);
    }

    @Test
    void aCompletionWithANonFiniteLogprobEndsTheStreamWithInternal() {
        Call call = new Call();
        CompletionStream stream = new CompletionStream(call, DECODES, "request r1");
        List<CompletionResult> results = List.of(completion(0, 0, Float.NaN), completion(0, 1, -1f));
        results.forEach(stream::onCompletion);
        stream.onResults(results);
        assertEquals(0, call.sent.size());
        assertFalse(call.completed);
        assertEquals(Status.Code.INTERNAL, call.error.getCode());
    }

    @Test
    void aFailedStreamAbortsTheRestOfItsRequest() {
        CancellableSubmission submission = new CancellableSubmission();
        Handle handle = new Handle();
        submission.attach(handle);
        CompletionStream stream = new CompletionStream(new Call(), SAMPLE_1_FAILS, "request r1");
        stream.attach(submission);
        stream.onCompletion(completion(0, 0, -1f));
        assertFalse(handle.cancelled);
        stream.onCompletion(completion(0, 1, -1f));
        assertTrue(handle.cancelled);
    }

    @Test
    void aStreamThatFailedBeforeItsSubmissionWasKnownAbortsItOnAttach() {
        CompletionStream stream = new CompletionStream(new Call(), SAMPLE_1_FAILS, "request r1");
        stream.onCompletion(completion(0, 1, -1f));
        CancellableSubmission submission = new CancellableSubmission();
        Handle handle = new Handle();
        submission.attach(handle);
        stream.attach(submission);
        assertTrue(handle.cancelled);
    }

    private static final class Handle implements RequestHandle {
        boolean cancelled;

        @Override
        public CompletableFuture<List<CompletionResult>> result() {
            return new CompletableFuture<>();
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    private static final class Call extends ServerCallStreamObserver<Completion> {
        final List<Completion> sent = new ArrayList<>();
        Status error;
        boolean completed;

        @Override
        public void onNext(Completion value) {
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {
            error = Status.fromThrowable(t);
        }

        @Override
        public void onCompleted() {
            completed = true;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void setOnCancelHandler(Runnable onCancelHandler) {}

        @Override
        public void setCompression(String compression) {}

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setOnReadyHandler(Runnable onReadyHandler) {}

        @Override
        public void request(int count) {}

        @Override
        public void setMessageCompression(boolean enable) {}

        @Override
        public void disableAutoInboundFlowControl() {}
    }
}
