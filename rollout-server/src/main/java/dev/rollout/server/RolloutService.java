package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.Engine;
import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.RequestHandle;
import dev.rollout.engine.SamplingParams;
import dev.rollout.lora.LoraConfig;
import dev.rollout.model.ModelConfig;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.KvCacheInfo;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.ResetPrefixCacheRequest;
import dev.rollout.proto.v1.ResetPrefixCacheResponse;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.proto.v1.TensorSpec;
import dev.rollout.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RolloutService RPCs: each validates, converts and hands the work to the {@link Engine} or {@link WeightSync}.
 * Completions are decoded and sent on {@code responseExecutor}, never on the engine thread, so a slow client or a long
 * detokenization does not stall the batch.
 */
public final class RolloutService extends RolloutServiceGrpc.RolloutServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(RolloutService.class);

    private final ServedModel served;
    private final Engine engine;
    private final WeightSync weightSync;
    private final AdmissionLimit admission;
    private final WeightSwapBarrier barrier;
    private final RequestValidator validator;
    private final PromptEncoder encoder;
    private final Executor responseExecutor;
    private final String device;
    private final String scheduler;
    private final int maxN;

    public RolloutService(ServedModel served, Engine engine, WeightSync weightSync, WeightSwapBarrier barrier,
                          AdmissionLimit admission, int maxN, String device, String scheduler, Executor responseExecutor) {
        ModelConfig config = served.model().config();
        this.served = served;
        this.engine = engine;
        this.weightSync = weightSync;
        this.admission = admission;
        this.barrier = barrier;
        this.validator = new RequestValidator(config.vocabSize(), config.maxPositionEmbeddings(), maxN);
        this.encoder = new PromptEncoder(served.tokenizer(), served.chatTemplate());
        this.responseExecutor = responseExecutor;
        this.device = device;
        this.scheduler = scheduler;
        this.maxN = maxN;
    }

    @Override
    public void generateBatch(GenerateBatchRequest request, StreamObserver<GenerateBatchResponse> observer) {
        ServerCallStreamObserver<GenerateBatchResponse> call = (ServerCallStreamObserver<GenerateBatchResponse>) observer;
        start(request, call, null, results -> {
            GenerateBatchResponse.Builder response = GenerateBatchResponse.newBuilder();
            for (CompletionResult r : results) {
                response.addCompletions(ProtoMapping.toProto(r, encoder.decode(r.tokenIds())));
            }
            call.onNext(response.setUsage(usage(results)).build());
            call.onCompleted();
        }, responseExecutor);
    }

    @Override
    public void generateStream(GenerateBatchRequest request, StreamObserver<Completion> observer) {
        ServerCallStreamObserver<Completion> call = (ServerCallStreamObserver<Completion>) observer;
        // The engine reports completions on its own thread, in order; one serial executor per call keeps that order
        // on the response threads, the end of the stream included.
        Executor inOrder = new SerialExecutor(responseExecutor);
        Consumer<CompletionResult> onCompletion = r -> inOrder.execute(() -> {
            if (!call.isCancelled()) {
                call.onNext(ProtoMapping.toProto(r, encoder.decode(r.tokenIds())));
            }
        });
        start(request, call, onCompletion, results -> call.onCompleted(), inOrder);
    }

    /**
     * Validates, encodes and submits the request (possibly after a weight swap in progress), then hands the results
     * to {@code onResults} on {@code executor}. A refusal closes the call with its status. While submitted, the request
     * holds an admission place and keeps weight swaps waiting; a client that cancels or whose deadline passes has its
     * sequences aborted and their KV blocks freed at once.
     */
    private void start(GenerateBatchRequest request, ServerCallStreamObserver<?> call, Consumer<CompletionResult> onCompletion,
                       Consumer<List<CompletionResult>> onResults, Executor executor) {
        GenerationRequest generation;
        try {
            generation = prepare(request, onCompletion);
            admission.acquire();
        } catch (StatusException e) {
            call.onError(e);
            return;
        }
        CancellableSubmission submission = new CancellableSubmission();
        call.setOnCancelHandler(submission::cancel);
        barrier.enter(() -> {
            RequestHandle handle;
            try {
                if (submission.cancelled()) {
                    throw Status.CANCELLED.withDescription("the client cancelled before the request started").asException();
                }
                handle = submit(generation);
            } catch (StatusException e) {
                barrier.leave();
                admission.release();
                if (!call.isCancelled()) {
                    call.onError(e);
                }
                return;
            }
            submission.attach(handle);
            handle.result().whenComplete((results, error) -> {
                barrier.leave();
                admission.release();
                executor.execute(() -> {
                    if (call.isCancelled()) {
                        return;
                    }
                    if (error != null) {
                        call.onError(engineFailure(error));
                        return;
                    }
                    try {
                        onResults.accept(results);
                    } catch (RuntimeException e) {
                        call.onError(engineFailure(e));
                    }
                });
            });
        });
    }

    private GenerationRequest prepare(GenerateBatchRequest request, Consumer<CompletionResult> onCompletion) throws StatusException {
        check(validator.validate(request));
        long serving = engine.weightVersion();
        if (request.getMinWeightVersion() > serving) {
            throw Status.FAILED_PRECONDITION.withDescription("the request needs weight version >= " + request.getMinWeightVersion()
                    + " but the server serves version " + serving + ": sync the weights first or lower min_weight_version").asException();
        }
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
            return engine.submit(generation);
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
        } catch (RuntimeException e) {
            log.warn("request {} could not be submitted", generation.requestId(), e);
            throw Status.UNAVAILABLE.withDescription("the engine is not accepting requests: " + e.getMessage()).asException();
        }
    }

    @Override
    public StreamObserver<SyncWeightsChunk> syncWeights(StreamObserver<SyncWeightsResponse> observer) {
        long start = System.nanoTime();
        WeightSyncSession session;
        try {
            session = weightSync.begin();
        } catch (StatusException e) {
            observer.onError(e);
            return new DiscardingObserver<>();
        }
        return new StreamObserver<>() {
            private boolean finished;

            @Override
            public void onNext(SyncWeightsChunk chunk) {
                if (finished) {
                    return;
                }
                try {
                    session.accept(chunk);
                } catch (StatusException e) {
                    end();
                    observer.onError(e);
                }
            }

            @Override
            public void onError(Throwable t) {
                // The client went away mid-stream: the staged tensors are dropped, the serving weights untouched.
                if (!finished) {
                    log.info("weight sync stream broke after {} bytes: {}; nothing changed", session.bytesReceived(), Status.fromThrowable(t));
                    end();
                }
            }

            @Override
            public void onCompleted() {
                if (finished) {
                    return;
                }
                try {
                    SyncWeightsResponse response = weightSync.apply(session.finish(), start);
                    log.info("weights now at version {}: {} tensors, {} bytes in {} s", response.getVersion(),
                            response.getTensorsUpdated(), response.getBytesReceived(), String.format("%.3f", response.getSeconds()));
                    end();
                    observer.onNext(response);
                    observer.onCompleted();
                } catch (StatusException e) {
                    end();
                    observer.onError(e);
                } catch (RuntimeException e) {
                    end();
                    log.error("weight sync failed", e);
                    observer.onError(Status.INTERNAL.withDescription("weight sync failed: " + e).asException());
                }
            }

            private void end() {
                finished = true;
                weightSync.release();
            }
        };
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> observer) {
        ModelConfig config = served.model().config();
        ModelInfo.Builder info = ModelInfo.newBuilder()
                .setModelId(served.modelId())
                .setArchitecture(config.architecture())
                .setVocabSize(config.vocabSize())
                .setMaxContextLength(config.maxPositionEmbeddings())
                .setWeightVersion(engine.weightVersion())
                .addAllEosTokenIds(config.eosTokenIds())
                .setKvCache(kvCacheInfo())
                .setDevice(device)
                .setScheduler(scheduler)
                .setMaxN(maxN);
        AdapterSync.State adapter = weightSync.adapterState();
        if (adapter.adapter() != null) {
            LoraConfig lora = adapter.adapter();
            info.setAdapter(LoraAdapterSpec.newBuilder().setR(lora.r()).setLoraAlpha((float) lora.alpha())
                    .setUseRslora(lora.useRslora()).addAllTargetModules(lora.targetModuleNames()))
                    .setAdapterVersion(adapter.adapterVersion());
        }
        info.setBaseFingerprint(adapter.baseFingerprint());
        for (Map.Entry<String, long[]> t : weightSync.expectedTensors().entrySet()) {
            TensorSpec.Builder spec = TensorSpec.newBuilder().setName(t.getKey()).setDtype(DType.DTYPE_FLOAT32);
            for (long d : t.getValue()) {
                spec.addShape(d);
            }
            info.addTensors(spec);
        }
        observer.onNext(info.build());
        observer.onCompleted();
    }

    @Override
    public void resetPrefixCache(ResetPrefixCacheRequest request, StreamObserver<ResetPrefixCacheResponse> observer) {
        observer.onNext(ResetPrefixCacheResponse.newBuilder().setBlocksFreed(engine.resetPrefixCache()).build());
        observer.onCompleted();
    }

    private KvCacheInfo kvCacheInfo() {
        var cache = engine.cacheInfo();
        return KvCacheInfo.newBuilder()
                .setBlockSize(cache.blockSize())
                .setNumBlocks(cache.numBlocks())
                .setFreeBlocks(cache.freeBlocks())
                .setBytes(cache.bytes())
                .build();
    }

    /** Prompt tokens count once per prompt (its samples share the prefill), as do cached ones; completion tokens per sample. */
    private static Usage usage(List<CompletionResult> results) {
        long prompt = 0;
        long cached = 0;
        long completion = 0;
        for (CompletionResult r : results) {
            if (r.sampleIndex() == 0) {
                prompt += r.promptTokenIds().length;
                cached += r.cachedPromptTokens();
            }
            completion += r.tokenIds().length;
        }
        return Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion).setCachedPromptTokens(cached).build();
    }

    private static StatusException engineFailure(Throwable error) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        log.error("generation failed", cause);
        return Status.INTERNAL.withDescription("generation failed: " + cause).withCause(cause).asException();
    }

    private static void check(Status status) throws StatusException {
        if (!status.isOk()) {
            throw status.asException();
        }
    }

    /** Swallows the rest of a stream that has already been refused. */
    private static final class DiscardingObserver<T> implements StreamObserver<T> {
        @Override
        public void onNext(T value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
    }
}
