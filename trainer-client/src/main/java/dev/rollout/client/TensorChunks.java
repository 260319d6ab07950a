package dev.rollout.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.weights.DType;
import dev.rollout.weights.Half;
import dev.rollout.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.zip.CRC32C;

/**
 * One tensor cut into {@link TensorChunk}s of at most {@code chunkBytes} wire bytes, encoded one chunk at a time so
 * that a converted copy of the whole tensor never exists. Every chunk carries name, dtype, shape and byte offset; the
 * last one carries the CRC32C of all the tensor's wire bytes. A tensor with no elements is one empty last chunk.
 */
final class TensorChunks implements Iterator<TensorChunk> {
    private final HostTensor tensor;
    private final DType wire;
    private final int chunkBytes;
    private final ByteBuffer source;
    private final long totalBytes;
    private final List<Long> shape;
    private final CRC32C crc = new CRC32C();
    private long offset;
    private boolean sentLast;

    TensorChunks(HostTensor tensor, DType wire, int chunkBytes) {
        checkConvertible(tensor, wire);
        this.tensor = tensor;
        this.wire = wire;
        this.chunkBytes = chunkBytes;
        this.source = tensor.data();
        this.totalBytes = tensor.numElements() * wire.bytes();
        this.shape = Arrays.stream(tensor.shape()).boxed().toList();
    }

    /** Tensors go as they are stored, or from F32 to a narrower wire type; nothing else. */
    static void checkConvertible(HostTensor tensor, DType wire) {
        if (tensor.dtype() != wire && tensor.dtype() != DType.F32) {
            throw new IllegalArgumentException("tensor '" + tensor.name() + "' is " + tensor.dtype()
                    + "; only F32 tensors can be converted to " + wire + " on the wire");
        }
    }

    static dev.rollout.proto.v1.DType protoDType(DType d) {
        return switch (d) {
            case F32 -> dev.rollout.proto.v1.DType.DTYPE_FLOAT32;
            case F16 -> dev.rollout.proto.v1.DType.DTYPE_FLOAT16;
            case BF16 -> dev.rollout.proto.v1.DType.DTYPE_BFLOAT16;
        };
    }

    @Override
    public boolean hasNext() {
        return !sentLast;
    }

    @Override
    public TensorChunk next() {
        if (sentLast) {
            throw new NoSuchElementException("all chunks of '" + tensor.name() + "' were sent");
        }
        int len = (int) Math.min(chunkBytes, totalBytes - offset);
        ByteString data = encode(offset, len);
        crc.update(data.asReadOnlyByteBuffer());
        TensorChunk.Builder chunk = TensorChunk.newBuilder()
                .setName(tensor.name())
                .setDtype(protoDType(wire))
                .addAllShape(shape)
                .setOffset(offset)
                .setData(data);
        offset += len;
        if (offset == totalBytes) {
            sentLast = true;
            chunk.setLast(true).setCrc32C((int) crc.getValue());
        }
        return chunk.build();
    }

    /** Wire bytes [wireOffset, wireOffset + len): the stored bytes themselves when no conversion is needed (no copy). */
    private ByteString encode(long wireOffset, int len) {
        if (tensor.dtype() == wire) {
            return UnsafeByteOperations.unsafeWrap(source.slice((int) wireOffset, len));
        }
        ByteBuffer out = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        int first = (int) (wireOffset / wire.bytes());
        int count = len / wire.bytes();
        for (int i = 0; i < count; i++) {
            float v = source.getFloat(4 * (first + i));
            out.putShort(wire == DType.F16 ? Half.fromFloat(v) : Half.bf16FromFloat(v));
        }
        return UnsafeByteOperations.unsafeWrap(out.array());
    }
}
