package dev.rollout.client;

import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.WeightDigest;
import java.util.ArrayList;
import java.util.List;

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
            TensorChunks chunks = new TensorChunks(t, wire, chunkBytes);
            int crc = 0;
            while (chunks.hasNext()) {
                crc = chunks.next().getCrc32C();
            }
            entries.add(new WeightDigest.Entry(t.name(), wire, t.shape(), crc));
        }
        return WeightDigest.of(entries);
    }
}
