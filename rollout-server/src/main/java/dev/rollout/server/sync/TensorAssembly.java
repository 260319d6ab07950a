package dev.rollout.server.sync;

import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.WeightDigest;
import io.grpc.Status;
import io.grpc.StatusException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One tensor of a weight sync being put together from its chunks. Chunks must arrive in order (each one's offset is
 * where the previous ended: no gaps, no overlaps), so the CRC32C is computed as they arrive and the bytes are copied
 * once. The first chunk fixes dtype and shape; later chunks may repeat them (then they must agree) or leave them unset.
 */
final class TensorAssembly {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final byte[] bytes;
    private final CRC32C crc = new CRC32C();
    private int received;
    private boolean complete;

    private TensorAssembly(String name, DType dtype, long[] shape, int size) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.bytes = new byte[size];
    }

    /** Starts a tensor from its first chunk, whose shape the caller has already checked against the model. */
    static TensorAssembly start(TensorChunk first, DType dtype, long[] shape) throws StatusException {
        long size = HostTensor.numElements(shape) * dtype.bytes();
        if (size > Integer.MAX_VALUE - 8) {
            throw invalid("tensor '" + first.getName() + "' has " + size + " bytes; a single tensor above 2 GiB cannot be synced");
        }
        return new TensorAssembly(first.getName(), dtype, shape, (int) size);
    }

    void accept(TensorChunk chunk, DType chunkDtype) throws StatusException {
        if (complete) {
            throw invalid("tensor '" + name + "' was sent again after its last chunk");
        }
        if (chunk.getDtypeValue() != 0 && chunkDtype != dtype) {
            throw invalid("tensor '" + name + "': chunk dtype " + chunk.getDtype() + " differs from its first chunk's " + dtype);
        }
        if (chunk.getShapeCount() != 0 && !Arrays.equals(chunk.getShapeList().stream().mapToLong(Long::longValue).toArray(), shape)) {
            throw invalid("tensor '" + name + "': chunk shape " + chunk.getShapeList() + " differs from its first chunk's " + Arrays.toString(shape));
        }
        if (chunk.getOffset() != received) {
            throw invalid("tensor '" + name + "': chunk at byte offset " + chunk.getOffset() + " but " + received
                    + " bytes have arrived; chunks must be contiguous and in order (no gaps or overlaps)");
        }
        int n = chunk.getData().size();
        if ((long) received + n > bytes.length) {
            throw invalid("tensor '" + name + "': chunk ends at byte " + ((long) received + n) + ", beyond the tensor's "
                    + bytes.length + " bytes (" + dtype + " " + Arrays.toString(shape) + ")");
        }
        chunk.getData().copyTo(bytes, received);
        crc.update(bytes, received, n);
        received += n;
        if (chunk.getLast()) {
            if (received != bytes.length) {
                throw invalid("tensor '" + name + "': last chunk arrived after " + received + " of " + bytes.length + " bytes");
            }
            int actual = (int) crc.getValue();
            if (actual != chunk.getCrc32C()) {
                throw invalid("tensor '" + name + "': CRC32C mismatch (sent " + Integer.toUnsignedString(chunk.getCrc32C(), 16)
                        + ", received bytes give " + Integer.toUnsignedString(actual, 16) + "): the data was corrupted in transit or the CRC covers other bytes");
            }
            long nonFinite = NonFiniteValues.firstIndex(bytes, dtype);
            if (nonFinite >= 0) {
                throw invalid("tensor '" + name + "': element " + nonFinite + " is NaN or infinite (" + dtype + " "
                        + Arrays.toString(shape) + "); the trainer's weights diverged or were corrupted before sending, "
                        + "so the sync was refused and the old weights still serve");
            }
            complete = true;
        }
    }

    /** What the content digest covers of this tensor; valid once complete. */
    WeightDigest.Entry digestEntry() {
        return new WeightDigest.Entry(name, dtype, shape, (int) crc.getValue());
    }

    boolean complete() {
        return complete;
    }

    int receivedBytes() {
        return received;
    }

    int totalBytes() {
        return bytes.length;
    }

    /** The tensor widened to fp32, the serving dtype (fp16 and bf16 arrive as storage formats only). */
    HostTensor toFloat32() {
        HostTensor raw = new HostTensor(name, dtype, shape, ByteBuffer.wrap(bytes));
        return dtype == DType.F32 ? raw : HostTensor.ofFloats(name, shape, raw.toFloats());
    }

    private static StatusException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asException();
    }
}
