package dev.rollout.client;

import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.WeightDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The content digest a push puts in its header: {@link WeightDigest} over the CRC32C of each tensor's wire bytes, the
 * same CRC its last chunk carries. It costs one CRC pass over the weights (and the dtype conversion, if any) before
 * the header can go, in exchange for retries that the server recognises as already applied.
 */
final class SyncDigest {
    private SyncDigest() {}

    static byte[] of(List<HostTensor> tensors, DType wire, int chunkBytes) {
        List<WeightDigest.Entry> entries = new ArrayList<>(tensors.size());
        for (HostTensor t : tensors) {
            entries.add(new WeightDigest.Entry(t.name(), wire, t.shape(), wireCrc32c(t, wire, chunkBytes)));
        }
        return WeightDigest.of(entries);
    }

    /** Tensors sent as stored are their own wire bytes; converted ones are encoded chunk by chunk, as they will be sent. */
    private static int wireCrc32c(HostTensor t, DType wire, int chunkBytes) {
        if (t.dtype() == wire) {
            CRC32C crc = new CRC32C();
            crc.update(t.data());
            return (int) crc.getValue();
        }
        TensorChunks chunks = new TensorChunks(t, wire, chunkBytes);
        int crc = 0;
        while (chunks.hasNext()) {
            crc = chunks.next().getCrc32C();
        }
        return crc;
    }
}
