package dev.rollout.deploy;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.proto.v1.TensorSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A full SyncWeights stream that sets every tensor the server lists to zeros: every name, shape and dtype must be
 * right for the server to take it, yet nothing but the model's description is needed to make it.
 */
final class ZeroWeights {
    /** Small enough that a tensor of the tiny model spans several messages, exercising offsets and the last flag. */
    static final int CHUNK_BYTES = 64 * 1024;

    private ZeroWeights() {
    }

    static List<SyncWeightsChunk> stream(ModelInfo model, long version) {
        List<SyncWeightsChunk> chunks = new ArrayList<>();
        chunks.add(SyncWeightsChunk.newBuilder().setHeader(SyncWeightsHeader.newBuilder()
                .setVersion(version).setTensorCount(model.getTensorsCount()).setPartial(false)).build());
        for (TensorSpec tensor : model.getTensorsList()) {
            long bytes = elements(tensor) * bytesPerElement(tensor.getDtype());
            CRC32C crc = new CRC32C();
            long offset = 0;
            do {
                int length = (int) Math.min(CHUNK_BYTES, bytes - offset);
                byte[] zeros = new byte[length];
                crc.update(zeros);
                boolean last = offset + length == bytes;
                TensorChunk.Builder chunk = TensorChunk.newBuilder()
                        .setName(tensor.getName()).setDtype(tensor.getDtype()).addAllShape(tensor.getShapeList())
                        .setOffset(offset).setData(ByteString.copyFrom(zeros)).setLast(last);
                if (last) {
                    chunk.setCrc32C((int) crc.getValue());
                }
                chunks.add(SyncWeightsChunk.newBuilder().setTensor(chunk).build());
                offset += length;
            } while (offset < bytes);
        }
        return chunks;
    }

    static long totalBytes(ModelInfo model) {
        long total = 0;
        for (TensorSpec tensor : model.getTensorsList()) {
            total += elements(tensor) * bytesPerElement(tensor.getDtype());
        }
        return total;
    }

    private static long elements(TensorSpec tensor) {
        long n = 1;
        for (long dim : tensor.getShapeList()) {
            n *= dim;
        }
        return n;
    }

    private static int bytesPerElement(DType dtype) {
        return switch (dtype) {
            case DTYPE_FLOAT32 -> 4;
            case DTYPE_FLOAT16, DTYPE_BFLOAT16 -> 2;
            default -> throw new IllegalArgumentException("the server lists a tensor with dtype " + dtype);
        };
    }
}
