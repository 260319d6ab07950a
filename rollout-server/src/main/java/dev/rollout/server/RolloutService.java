package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.Engine;
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
import dev.rollout.server.sync.AdapterSync;
import dev.rollout.server.sync.WeightSwapBarrier;
import dev.rollout.server.sync.WeightSync;
import dev.rollout.server.sync.WeightSyncSession;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
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
    private final GenerationAdmission generation;
    private final PromptEncoder encoder;
    private final Executor responseExecutor;
    private final String device;
    private final String scheduler;
    private final int maxN;

    public RolloutService(ServedModel served, Engine engine, WeightSync weightSync, WeightSwapBarrier barrier,
                          AdmissionLimit admission, ServerOptions options, Executor responseExecutor) {
        ModelConfig config = served.model().config();
        this.served = served;
        this.engine = engine;
        this.weightSync = weightSync;
        int bytesPerToken = served.tokenizer() == null ? 0 : served.tokenizer().maxBytesPerToken();
        RequestValidator validator = new RequestValidator(config.vocabSize(), config.maxPositionEmbeddings(), options.maxN(),
                options.maxRequestSequences(), bytesPerToken);
        this.encoder = new PromptEncoder(served.tokenizer(), served.chatTemplate());
        this.generation = new GenerationAdmission(validator, encoder, admission, barrier, engine::submit, engine::weightVersion);
        this.responseExecutor = responseExecutor;
        this.device = options.device();
        this.scheduler = options.scheduler();
        this.maxN = options.maxN();
    }

    @Override
    public void generateBatch(GenerateBatchRequest request, StreamObserver<GenerateBatchResponse> observer) {
        ServerCallStreamObserver<GenerateBatchResponse> call = (ServerCallStreamObserver<GenerateBatchResponse>) observer;
        generation.start(request, call, null, results -> {
            for (CompletionResult r : results) {
                Status finite = FiniteLogprobs.check(r);
                if (!finite.isOk()) {
                    call.onError(finite.asException());
                    return;
                }
            }
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
        String name = request.getRequestId().isEmpty() ? "the request" : "request " + request.getRequestId();
        CompletionStream stream = new CompletionStream(call, r -> ProtoMapping.toProto(r, encoder.decode(r.tokenIds())), name);
        stream.attach(generation.start(request, call, r -> inOrder.execute(() -> stream.onCompletion(r)), stream::onResults, inOrder));
    }

    @Override
    public StreamObserver<SyncWeightsChunk> syncWeights(StreamObserver<SyncWeightsResponse> observer) {
        return SyncWeightsCall.start(weightSync, observer);
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
                .setMaxN(maxN)
                .setInflightWeightUpdate(weightSync.inflightWeightUpdate().label())
                .setAdapterServing(weightSync.adapterServing().label());
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
}
