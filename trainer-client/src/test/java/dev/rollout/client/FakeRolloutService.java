package dev.rollout.client;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.ResetPrefixCacheRequest;
import dev.rollout.proto.v1.ResetPrefixCacheResponse;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * A stand-in for the rollout server that keeps to the contract of design §3 without a model. Completions say which
 * prompt (by its text) and which fake produced them; a weight sync is reassembled chunk by chunk and refused with
 * INVALID_ARGUMENT on any break of the chunk protocol (order, offsets, dtype/shape changes, CRC32C, size, count).
 */
final class FakeRolloutService extends RolloutServiceGrpc.RolloutServiceImplBase {
    /** A tensor as the fake received it. */
    record ReceivedTensor(DType dtype, List<Long> shape, byte[] data, List<Integer> chunkSizes) {}

    private final String name;
    final List<GenerateBatchRequest> generateRequests = Collections.synchronizedList(new ArrayList<>());
    volatile Status generateError;
    volatile FinishReason finishReason = FinishReason.FINISH_REASON_LENGTH;
    volatile Status syncError;
    /** Set: the next sync is applied, then answered with this status (a client deadline that passed as it was applied). */
    volatile Status syncErrorAfterApplying;
    volatile CountDownLatch syncRendezvous;
    volatile long weightVersion;
    volatile SyncWeightsHeader lastHeader;
    volatile Map<String, ReceivedTensor> lastSync;

    FakeRolloutService(String name) {
        this.name = name;
    }

    /** The completion text a fake gives for a prompt's text and sample index. */
    static String completionText(String fake, String prompt, int sample) {
        return prompt + " -> sample " + sample + " from " + fake;
    }

    @Override
    public void generateBatch(GenerateBatchRequest request, StreamObserver<GenerateBatchResponse> response) {
        generateRequests.add(request);
        if (generateError != null) {
            response.onError(generateError.asRuntimeException());
            return;
        }
        if (request.getMinWeightVersion() > weightVersion) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("weights are at version " + weightVersion
                    + ", request needs " + request.getMinWeightVersion()).asRuntimeException());
            return;
        }
        int n = Math.max(1, request.getSampling().getN());
        List<Completion> out = new ArrayList<>();
        for (int p = 0; p < request.getPromptsCount(); p++) {
            Prompt prompt = request.getPrompts(p);
            for (int s = 0; s < n; s++) {
                out.add(Completion.newBuilder().setPromptIndex(p).setSampleIndex(s)
                        .setText(completionText(name, prompt.getText(), s)).addTokenIds(s).addLogprobs(-0.5f)
                        .setFinishReason(finishReason).setWeightVersion(weightVersion).build());
            }
        }
        Collections.reverse(out); // a real server answers in finishing order, not request order
        response.onNext(GenerateBatchResponse.newBuilder().addAllCompletions(out)
                .setUsage(Usage.newBuilder().setPromptTokens(request.getPromptsCount()).setCompletionTokens(out.size())
                        .setCachedPromptTokens(1)).build());
        response.onCompleted();
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> response) {
        response.onNext(ModelInfo.newBuilder().setModelId(name).setWeightVersion(weightVersion).build());
        response.onCompleted();
    }

    @Override
    public void resetPrefixCache(ResetPrefixCacheRequest request, StreamObserver<ResetPrefixCacheResponse> response) {
        response.onNext(ResetPrefixCacheResponse.newBuilder().setBlocksFreed(3).build());
        response.onCompleted();
    }

    @Override
    public StreamObserver<SyncWeightsChunk> syncWeights(StreamObserver<SyncWeightsResponse> response) {
        return new StreamObserver<>() {
            private SyncWeightsHeader header;
            private final Map<String, ReceivedTensor> staged = new LinkedHashMap<>();
            private TensorChunk first;
            private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            private final List<Integer> chunkSizes = new ArrayList<>();
            private long received;
            private boolean failed;

            @Override
            public void onNext(SyncWeightsChunk chunk) {
                if (failed) {
                    return;
                }
                String problem = accept(chunk);
                if (problem != null) {
                    failed = true;
                    response.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
                }
            }

            private String accept(SyncWeightsChunk chunk) {
                if (chunk.hasHeader()) {
                    if (header != null) {
                        return "second header";
                    }
                    header = chunk.getHeader();
                    CountDownLatch rendezvous = syncRendezvous;
                    if (rendezvous != null) {
                        rendezvous.countDown();
                        try {
                            if (!rendezvous.await(10, TimeUnit.SECONDS)) {
                                return "the other server's push did not start while this one was open";
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return "interrupted";
                        }
                    }
                    SyncWeightsHeader applied = lastHeader;
                    if (applied != null && header.getVersion() == weightVersion && !header.getContentDigest().isEmpty()
                            && header.getContentDigest().equals(applied.getContentDigest())) {
                        failed = true; // ignore the rest of the stream
                        response.onNext(SyncWeightsResponse.newBuilder().setVersion(weightVersion).setAlreadyApplied(true).build());
                        response.onCompleted();
                        return null;
                    }
                    return header.getVersion() > weightVersion ? null
                            : "version " + header.getVersion() + " does not exceed " + weightVersion;
                }
                if (header == null) {
                    return "tensor chunk before the header";
                }
                TensorChunk c = chunk.getTensor();
                if (first == null) {
                    if (staged.containsKey(c.getName())) {
                        return "tensor " + c.getName() + " sent twice";
                    }
                    first = c;
                } else if (!c.getName().equals(first.getName()) || c.getDtype() != first.getDtype()
                        || !c.getShapeList().equals(first.getShapeList())) {
                    return "chunk of " + c.getName() + " inside " + first.getName() + " or with another dtype/shape";
                }
                if (c.getOffset() != bytes.size()) {
                    return c.getName() + ": offset " + c.getOffset() + ", expected " + bytes.size();
                }
                bytes.writeBytes(c.getData().toByteArray());
                chunkSizes.add(c.getData().size());
                received += c.getData().size();
                if (!c.getLast()) {
                    return null;
                }
                byte[] data = bytes.toByteArray();
                long elements = c.getShapeList().stream().reduce(1L, (a, b) -> a * b);
                int elementBytes = c.getDtype() == DType.DTYPE_FLOAT32 ? 4 : 2;
                if (data.length != elements * elementBytes) {
                    return c.getName() + ": " + data.length + " bytes for " + elements + " elements";
                }
                CRC32C crc = new CRC32C();
                crc.update(data);
                if ((int) crc.getValue() != c.getCrc32C()) {
                    return c.getName() + ": CRC32C mismatch";
                }
                staged.put(c.getName(), new ReceivedTensor(c.getDtype(), c.getShapeList(), data, List.copyOf(chunkSizes)));
                first = null;
                bytes.reset();
                chunkSizes.clear();
                return null;
            }

            @Override
            public void onError(Throwable t) {
                failed = true;
            }

            @Override
            public void onCompleted() {
                if (failed) {
                    return;
                }
                String problem = header == null ? "no header"
                        : first != null ? "stream ended inside tensor " + first.getName()
                        : staged.size() != header.getTensorCount() ? staged.size() + " tensors, header said " + header.getTensorCount()
                        : null;
                if (problem != null) {
                    response.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
                    return;
                }
                if (syncError != null) {
                    response.onError(syncError.asRuntimeException());
                    return;
                }
                lastHeader = header;
                lastSync = staged;
                weightVersion = header.getVersion();
                Status afterApplying = syncErrorAfterApplying;
                if (afterApplying != null) {
                    syncErrorAfterApplying = null;
                    response.onError(afterApplying.asRuntimeException());
                    return;
                }
                response.onNext(SyncWeightsResponse.newBuilder().setVersion(header.getVersion())
                        .setTensorsUpdated(staged.size()).setBytesReceived(received).build());
                response.onCompleted();
            }
        };
    }
}
