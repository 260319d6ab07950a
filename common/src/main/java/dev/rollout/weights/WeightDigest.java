package dev.rollout.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.List;

/**
 * The content digest of a weight sync: SHA-256 over each tensor's name, wire dtype, shape and the CRC32C of its wire
 * bytes, tensors in name order. It is built from the per-tensor CRC32Cs that a sync carries anyway, so the trainer
 * computes it with one CRC pass (no second hash over gigabytes) and the server checks it from what it received; the
 * order of the tensors in the stream does not matter.
 */
public final class WeightDigest {
    /** One tensor as it travels: the CRC32C covers its bytes in {@code dtype}. */
    public record Entry(String name, DType dtype, long[] shape, int crc32c) {}

    private WeightDigest() {}

    public static byte[] of(List<Entry> entries) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
        for (Entry e : entries.stream().sorted(Comparator.comparing(Entry::name)).toList()) {
            sha.update(e.name().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(e.dtype().safetensorsName().getBytes(StandardCharsets.US_ASCII));
            sha.update((byte) 0);
            ByteBuffer b = ByteBuffer.allocate(4 + 8 * e.shape().length + 4).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(e.shape().length);
            for (long d : e.shape()) {
                b.putLong(d);
            }
            b.putInt(e.crc32c());
            sha.update(b.array());
        }
        return sha.digest();
    }
}
