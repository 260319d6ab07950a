package dev.rollout.client;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/** The messages of one SyncWeights call, made as they are consumed: the header, then every tensor's chunks in order. */
final class SyncStream implements Iterator<SyncWeightsChunk> {
    private final SyncWeightsHeader header;
    private final List<HostTensor> tensors;
    private final DType wire;
    private final int chunkBytes;
    private boolean headerSent;
    private int nextTensor;
    private TensorChunks current;

    /**
     * @param header the header's other fields (partial, a LoRA spec); version, tensor count and digest are set here
     * @param digest the tensors' content digest ({@link SyncDigest}), so that the server recognises a retry
     */
    SyncStream(long version, SyncWeightsHeader header, List<HostTensor> tensors, byte[] digest, PushOptions options) {
        this.header = header.toBuilder().setVersion(version).setTensorCount(tensors.size())
                .setContentDigest(ByteString.copyFrom(digest)).build();
        this.tensors = tensors;
        this.wire = options.wireDType();
        this.chunkBytes = options.chunkBytes();
    }

    @Override
    public boolean hasNext() {
        return !headerSent || (current != null && current.hasNext()) || nextTensor < tensors.size();
    }

    @Override
    public SyncWeightsChunk next() {
        if (!headerSent) {
            headerSent = true;
            return SyncWeightsChunk.newBuilder().setHeader(header).build();
        }
        if (current == null || !current.hasNext()) {
            if (nextTensor >= tensors.size()) {
                throw new NoSuchElementException("the weight stream is complete");
            }
            current = new TensorChunks(tensors.get(nextTensor++), wire, chunkBytes);
        }
        return SyncWeightsChunk.newBuilder().setTensor(current.next()).build();
    }
}
