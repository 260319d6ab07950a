package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.RequestHandle;
import dev.rollout.engine.SamplingParams;
import dev.rollout.server.sync.CancellableSubmission;
import dev.rollout.server.sync.WeightSwapBarrier;
import dev.rollout.proto.v1.GenerateBatchRequest;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The way of one generation call into the engine and back: validation, an admission place, tokenizing, the weight-swap
 * barrier, submission, and the release of all it holds when the request ends, however it ends.
 */
final class GenerationAdmission {
    private static final Logger log = LoggerFactory.getLogger(GenerationAdmission.class);

    private final RequestValidator validator;
    private final PromptEncoder encoder;
    private final AdmissionLimit admission;
    private final WeightSwapBarrier barrier;
    private final Function<GenerationRequest, RequestHandle> submit;
    private final LongSupplier weightVersion;

    /** @param submit the engine's submit; @param weightVersion the version the engine serves */
    GenerationAdmission(RequestValidator validator, PromptEncoder encoder, AdmissionLimit admission, WeightSwapBarrier barrier,
                        Function<GenerationRequest, RequestHandle> submit, LongSupplier weightVersion) {
        this.validator = validator;
        this.encoder = encoder;
        this.admission = admission;
        this.barrier = barrier;
        this.submit = submit;
        this.weightVersion = weightVersion;
    }

    /**
     * Validates, takes an admission place, encodes and submits the request (possibly after a weight swap in progress),
     * then hands the results to {@code onResults} on {@code executor}. A refusal closes the call with its status; every
     * check that needs no tokenizing comes before the admission place, and the place before tokenizing. While
     * submitted, the request holds its place and keeps weight swaps waiting (up to --max-sync-wait-seconds); a client
     * that cancels or whose deadline passes has its sequences aborted and their KV blocks freed at once. Whatever fails
     * on the way, an Error included, gives back the place and the barrier once.
     *
     * @return the submission, to abort the request early, or null when the request was refused
     */
    CancellableSubmission start(GenerateBatchRequest request, ServerCallStreamObserver<?> call, Consumer<CompletionResult> onCompletion,
               Consumer<List<CompletionResult>> onResults, Executor executor) {
        long sequences = RequestValidator.sequences(request);
        try {
            check(validator.validate(request));
            checkWeightVersion(request);
            admission.acquire(sequences);
        } catch (StatusException e) {
            call.onError(e);
            return null;
        }
        GenerationRequest generation;
        try {
            generation = prepare(request, onCompletion);
        } catch (Throwable e) {
            admission.release(sequences);
            String name = request.getRequestId().isEmpty() ? "a request" : "request " + request.getRequestId();
            call.onError(e instanceof StatusException s ? s : InternalFailure.of(name + " could not be prepared", e));
            return null;
        }
        CancellableSubmission submission = new CancellableSubmission();
        call.setOnCancelHandler(submission::cancel);
        barrier.enter(submission, () -> {
            RequestHandle handle;
            try {
                Status stopped = submission.stopped();
                if (stopped != null) {
                    throw stopped.asException();
                }
                handle = submit(generation);
            } catch (Throwable e) {
                barrier.leave(submission);
                admission.release(sequences);
                if (!call.isCancelled()) {
                    call.onError(e instanceof StatusException s ? s : InternalFailure.of("request " + generation.requestId()
                            + " could not be submitted", e));
                }
                return;
            }
            submission.attach(handle);
            handle.result().whenComplete((results, error) -> {
                barrier.leave(submission);
                admission.release(sequences);
                executor.execute(() -> {
                    if (call.isCancelled()) {
                        return;
                    }
                    if (error != null) {
                        call.onError(engineFailure(generation.requestId(), error));
                        return;
                    }
                    try {
                        onResults.accept(results);
                    } catch (Throwable e) {
                        call.onError(engineFailure(generation.requestId(), e));
                    }
                });
            });
        });
        return submission;
    }

    private void checkWeightVersion(GenerateBatchRequest request) throws StatusException {
        long serving = weightVersion.getAsLong();
        if (request.getMinWeightVersion() > serving) {
            throw Status.FAILED_PRECONDITION.withDescription("the request needs weight version >= " + request.getMinWeightVersion()
                    + " but the server serves version " + serving + ": sync the weights first or lower min_weight_version").asException();
        }
    }

    private GenerationRequest prepare(GenerateBatchRequest request, Consumer<CompletionResult> onCompletion) throws StatusException {
        int maxTokens = request.getSampling().getMaxTokens();
        List<int[]> prompts = new ArrayList<>(request.getPromptsCount());
        for (int i = 0; i < request.getPromptsCount(); i++) {
            int[] tokens = encoder.encode(i, request.getPrompts(i));
            check(validator.validateEncoded(i, tokens, maxTokens));
            prompts.add(tokens);
        }
        SamplingParams params = ProtoMapping.toEngine(request.getSampling());
        String id = request.getRequestId().isEmpty() ? UUID.randomUUID().toString() : request.getRequestId();
        return new GenerationRequest(id, prompts, params, onCompletion);
    }

    private RequestHandle submit(GenerationRequest generation) throws StatusException {
        try {
            return submit.apply(generation);
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
        } catch (IllegalStateException e) {
            log.warn("request {} could not be submitted: {}", generation.requestId(), e.getMessage());
            throw Status.UNAVAILABLE.withDescription("the engine is not accepting requests (it is shutting down); "
                    + "retry on another server").asException();
        }
    }

    private static StatusException engineFailure(String requestId, Throwable error) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        return InternalFailure.of("generation of request " + requestId + " failed", cause);
    }

    private static void check(Status status) throws StatusException {
        if (!status.isOk()) {
            throw status.asException();
        }
    }
}
