package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.RequestHandle;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import dev.rollout.server.sync.WeightSwapBarrier;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Whatever happens to a generation call on its way into the engine, what it counted is given back exactly once. */
class GenerationAdmissionTest {
    private final AdmissionLimit admission = new AdmissionLimit(4, 100);
    private final WeightSwapBarrier barrier = new WeightSwapBarrier(Duration.ofSeconds(1));

    private GenerationAdmission admitting(Function<GenerationRequest, RequestHandle> submit) {
        return new GenerationAdmission(new RequestValidator(512, 1024, 16, 100, 0), new PromptEncoder(null, null), admission,
                barrier, submit, () -> 0);
    }

    private static GenerateBatchRequest request(int prompts, int n) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder()
                .setSampling(SamplingParams.newBuilder().setMaxTokens(4).setN(n));
        for (int i = 0; i < prompts; i++) {
            b.addPrompts(Prompt.newBuilder().setTokenIds(TokenIds.newBuilder().addIds(1).addIds(2)));
        }
        return b.build();
    }

    private static void start(GenerationAdmission generation, GenerateBatchRequest request, Call call) {
        generation.start(request, call, null, results -> call.onCompleted(), Runnable::run);
    }

    @Test
    void aSubmitThatThrowsAnErrorReleasesItsPlaceAndAnswersWithoutTheExceptionsText() {
        GenerationAdmission generation = admitting(r -> {
            throw new OutOfMemoryError("Java heap space");
        });
        Call call = new Call();
        start(generation, request(5, 4), call);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, call.error.getCode(), call.error.toString());
        assertFalse(call.error.getDescription().contains("Java heap space"), call.error.getDescription());
        assertEquals(0, admission.inFlight());
        assertEquals(0, admission.sequencesInFlight());
        assertEquals(0, barrier.inFlight());
    }

    @Test
    void aSubmitThatThrowsARuntimeExceptionReleasesItsPlaceAndAnswersInternalWithAnErrorId() {
        GenerationAdmission generation = admitting(r -> {
            throw new NullPointerException("secret internals");
        });
        Call call = new Call();
        start(generation, request(1, 1), call);
        assertEquals(Status.Code.INTERNAL, call.error.getCode());
        assertTrue(call.error.getDescription().contains("error id"), call.error.getDescription());
        assertFalse(call.error.getDescription().contains("NullPointerException"), call.error.getDescription());
        assertEquals(0, admission.inFlight());
        assertEquals(0, barrier.inFlight());
    }

    @Test
    void aFinishedRequestReleasesItsPlaceSoTheQueueTakesAnotherFullOne() {
        CompletableFuture<List<CompletionResult>> result = new CompletableFuture<>();
        GenerationAdmission generation = admitting(r -> handle(result));
        Call first = new Call();
        start(generation, request(25, 4), first); // 100 sequences: the whole queue
        assertEquals(100, admission.sequencesInFlight());
        Call refused = new Call();
        start(generation, request(1, 1), refused);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.error.getCode());
        assertTrue(refused.error.getDescription().contains("--max-queued-sequences"), refused.error.getDescription());
        result.complete(List.of());
        assertTrue(first.completed);
        assertEquals(0, admission.sequencesInFlight());
        assertEquals(0, barrier.inFlight());
    }

    @Test
    void aRequestAboveThePerRequestLimitIsRefusedWithoutTakingAPlace() {
        GenerationAdmission generation = admitting(r -> {
            throw new AssertionError("must not be submitted");
        });
        Call call = new Call();
        start(generation, request(26, 4), call);
        assertEquals(Status.Code.INVALID_ARGUMENT, call.error.getCode());
        assertEquals(0, admission.inFlight());
    }

    private static RequestHandle handle(CompletableFuture<List<CompletionResult>> result) {
        return new RequestHandle() {
            @Override
            public CompletableFuture<List<CompletionResult>> result() {
                return result;
            }

            @Override
            public void cancel() {}
        };
    }

    /** A server call that records how it ended. */
    private static final class Call extends ServerCallStreamObserver<Object> {
        Status error;
        boolean completed;

        @Override
        public void onNext(Object value) {}

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
