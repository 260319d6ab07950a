package dev.rollout.chaos;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.TensorChunk;
import dev.rollout.proto.v1.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * Valid SyncWeights streams for the model a server describes in GetModelInfo, built as a trainer sends them: a
 * header, then each tensor in chunks with its CRC32C on the last one. The values are random (norm weights 1, the rest
 * small Gaussians), so every seed gives weights that serve finite log-probs and differ from every other seed's.
 */
final class SyncStreams {
    static final int CHUNK_BYTES = 256 << 10;

    private SyncStreams() {}

    /** Every tensor of the model: a full sync to {@code version}. */
    static List<SyncWeightsChunk> full(ModelInfo info, long version, long seed) {
        return stream(info.getTensorsList(), version, false, seed, CHUNK_BYTES);
    }

    /** The model's smallest tensor alone, in chunks of {@code chunkBytes}: a cheap partial sync. */
    static List<SyncWeightsChunk> partialSmallest(ModelInfo info, long version, long seed, int chunkBytes) {
        TensorSpec smallest = info.getTensorsList().stream().min(Comparator.comparingLong(SyncStreams::elements)).orElseThrow(
                () -> new IllegalStateException("GetModelInfo lists no tensors"));
        return stream(List.of(smallest), version, true, seed, chunkBytes);
    }

    static List<SyncWeightsChunk> stream(List<TensorSpec> specs, long version, boolean partial, long seed, int chunkBytes) {
        List<SyncWeightsChunk> out = new ArrayList<>();
        out.add(SyncWeightsChunk.newBuilder().setHeader(SyncWeightsHeader.newBuilder()
                .setVersion(version).setTensorCount(specs.size()).setPartial(partial)).build());
        SplittableRandom random = new SplittableRandom(seed);
        for (TensorSpec spec : specs) {
            byte[] bytes = values(spec, random);
            for (int from = 0; from < bytes.length; from += chunkBytes) {
                int to = Math.min(bytes.length, from + chunkBytes);
                TensorChunk.Builder c = TensorChunk.newBuilder().setName(spec.getName()).setDtype(DType.DTYPE_FLOAT32)
                        .addAllShape(spec.getShapeList()).setOffset(from).setData(ByteString.copyFrom(bytes, from, to - from));
                if (to == bytes.length) {
                    c.setLast(true).setCrc32C(crc32c(bytes));
                }
                out.add(SyncWeightsChunk.newBuilder().setTensor(c).build());
            }
        }
        return out;
    }

    static int crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    static long elements(TensorSpec spec) {
        long n = 1;
        for (long d : spec.getShapeList()) {
            n *= d;
        }
        return n;
    }

    private static byte[] values(TensorSpec spec, SplittableRandom random) {
        int n = Math.toIntExact(elements(spec));
        ByteBuffer buf = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        boolean norm = spec.getName().contains("norm");
        for (int i = 0; i < n; i++) {
            buf.putFloat(norm ? 1f : (float) (gaussian(random) * 0.02));
        }
        return buf.array();
    }

    private static double gaussian(SplittableRandom random) {
        double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    /** The serialised messages of a stream, as {@link RawRpc} sends them. */
    static List<byte[]> bytes(List<SyncWeightsChunk> stream) {
        return stream.stream().map(SyncWeightsChunk::toByteArray).toList();
    }
}
