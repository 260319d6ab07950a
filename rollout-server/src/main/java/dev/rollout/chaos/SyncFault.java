package dev.rollout.chaos;

import com.google.protobuf.ByteString;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.SyncWeightsChunk;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.TensorChunk;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The ways a well-formed SyncWeights stream can be wrong (design §3: unknown tensor name, wrong shape or dtype, CRC
 * mismatch, missing tensors in a full sync, version not increasing, and what the stream's own rules add), each made
 * from a valid full sync at a random tensor or chunk. Every one must be refused with INVALID_ARGUMENT and leave the
 * version and the served weights as they were.
 */
enum SyncFault {
    CORRUPTED_DATA("a data byte flipped, CRC as sent") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = randomTensorChunk(s, r);
            TensorChunk c = s.get(i).getTensor();
            byte[] data = c.getData().toByteArray();
            data[r.nextInt(data.length)] ^= (byte) (1 << r.nextInt(8));
            return replace(s, i, c.toBuilder().setData(ByteString.copyFrom(data)).build());
        }
    },
    WRONG_CRC("the CRC32C of a tensor off by one bit") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = randomLastChunk(s, r);
            TensorChunk c = s.get(i).getTensor();
            return replace(s, i, c.toBuilder().setCrc32C(c.getCrc32C() ^ 1).build());
        }
    },
    WRONG_SHAPE("a tensor's first dimension one too large") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = firstChunkOf(s, randomTensorName(s, r));
            TensorChunk c = s.get(i).getTensor();
            return replace(s, i, c.toBuilder().setShape(0, c.getShape(0) + 1).build());
        }
    },
    WRONG_DTYPE("a float32 tensor declared as another dtype") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = firstChunkOf(s, randomTensorName(s, r));
            DType[] others = {DType.DTYPE_UNSPECIFIED, DType.DTYPE_FLOAT16, DType.DTYPE_BFLOAT16};
            return replace(s, i, s.get(i).getTensor().toBuilder().setDtype(others[r.nextInt(others.length)]).build());
        }
    },
    UNKNOWN_NAME("a tensor under a name the model lacks") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            String name = randomTensorName(s, r);
            List<SyncWeightsChunk> out = new ArrayList<>();
            for (SyncWeightsChunk m : s) {
                out.add(m.hasTensor() && m.getTensor().getName().equals(name)
                        ? chunk(m.getTensor().toBuilder().setName(name + ".chaos_unknown").build()) : m);
            }
            return out;
        }
    },
    MISSING_TENSOR("a full sync without one tensor (count adjusted)") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            String name = randomTensorName(s, r);
            List<SyncWeightsChunk> out = new ArrayList<>();
            for (SyncWeightsChunk m : s) {
                if (m.hasHeader()) {
                    out.add(header(m.getHeader().toBuilder().setTensorCount(m.getHeader().getTensorCount() - 1).build()));
                } else if (!m.getTensor().getName().equals(name)) {
                    out.add(m);
                }
            }
            return out;
        }
    },
    INCOMPLETE_TENSOR("a tensor's last chunk never sent") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s);
            out.remove(randomLastChunk(s, r));
            return out;
        }
    },
    STALE_VERSION("the header's version equal to the serving one") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s);
            out.set(0, header(s.get(0).getHeader().toBuilder().setVersion(current).build()));
            return out;
        }
    },
    WRONG_TENSOR_COUNT("the header announcing one tensor more than sent") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s);
            out.set(0, header(s.get(0).getHeader().toBuilder().setTensorCount(s.get(0).getHeader().getTensorCount() + 1).build()));
            return out;
        }
    },
    SECOND_HEADER("a second header mid-stream") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s);
            out.add(1 + r.nextInt(s.size() - 1), s.get(0));
            return out;
        }
    },
    HEADER_NOT_FIRST("a tensor chunk before the header") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s.subList(1, s.size()));
            out.add(1 + r.nextInt(out.size()), s.get(0));
            return out;
        }
    },
    OFFSET_OUT_OF_RANGE("a chunk's offset beyond its tensor") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = randomTensorChunk(s, r);
            TensorChunk c = s.get(i).getTensor();
            return replace(s, i, c.toBuilder().setOffset(c.getOffset() + (1L << 40)).build());
        }
    },
    EMPTY_MESSAGE("a chunk with neither header nor tensor") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            List<SyncWeightsChunk> out = new ArrayList<>(s);
            out.add(1 + r.nextInt(s.size() - 1), SyncWeightsChunk.getDefaultInstance());
            return out;
        }
    },
    NO_MESSAGES("a stream closed before any message") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            return List.of();
        }
    },
    NON_FINITE("a NaN or infinity in a tensor, CRC recomputed to match") {
        @Override
        List<SyncWeightsChunk> apply(List<SyncWeightsChunk> s, long current, SplittableRandom r) {
            int i = randomTensorChunk(s, r);
            TensorChunk c = s.get(i).getTensor();
            byte[] data = c.getData().toByteArray();
            float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * r.nextInt(data.length / 4), bad[r.nextInt(bad.length)]);
            List<SyncWeightsChunk> out = replace(s, i, c.toBuilder().setData(ByteString.copyFrom(data)).build());
            return recomputeCrc(out, c.getName());
        }
    };

    final String description;

    SyncFault(String description) {
        this.description = description;
    }

    /** The faulty stream made from {@code valid} (a full sync to {@code current + 1}). */
    abstract List<SyncWeightsChunk> apply(List<SyncWeightsChunk> valid, long current, SplittableRandom random);

    private static SyncWeightsChunk chunk(TensorChunk c) {
        return SyncWeightsChunk.newBuilder().setTensor(c).build();
    }

    private static SyncWeightsChunk header(SyncWeightsHeader h) {
        return SyncWeightsChunk.newBuilder().setHeader(h).build();
    }

    private static List<SyncWeightsChunk> replace(List<SyncWeightsChunk> s, int index, TensorChunk c) {
        List<SyncWeightsChunk> out = new ArrayList<>(s);
        out.set(index, chunk(c));
        return out;
    }

    private static int randomTensorChunk(List<SyncWeightsChunk> s, SplittableRandom r) {
        return 1 + r.nextInt(s.size() - 1);
    }

    private static int randomLastChunk(List<SyncWeightsChunk> s, SplittableRandom r) {
        List<Integer> last = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            if (s.get(i).hasTensor() && s.get(i).getTensor().getLast()) {
                last.add(i);
            }
        }
        return last.get(r.nextInt(last.size()));
    }

    private static String randomTensorName(List<SyncWeightsChunk> s, SplittableRandom r) {
        return s.get(randomTensorChunk(s, r)).getTensor().getName();
    }

    private static int firstChunkOf(List<SyncWeightsChunk> s, String name) {
        for (int i = 0; i < s.size(); i++) {
            if (s.get(i).hasTensor() && s.get(i).getTensor().getName().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no chunk of " + name);
    }

    /** Sets the CRC on {@code name}'s last chunk to that of its (changed) data, so only the values are wrong. */
    private static List<SyncWeightsChunk> recomputeCrc(List<SyncWeightsChunk> s, String name) {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        int last = -1;
        for (int i = 0; i < s.size(); i++) {
            if (s.get(i).hasTensor() && s.get(i).getTensor().getName().equals(name)) {
                all.writeBytes(s.get(i).getTensor().getData().toByteArray());
                if (s.get(i).getTensor().getLast()) {
                    last = i;
                }
            }
        }
        return replace(s, last, s.get(last).getTensor().toBuilder().setCrc32C(SyncStreams.crc32c(all.toByteArray())).build());
    }
}
