package dev.rollout.client;

import dev.rollout.weights.DType;
import java.time.Duration;

/**
 * How weights travel to the servers.
 *
 * @param chunkBytes bytes of tensor data per message (a multiple of 4, so chunks never split an element); with gRPC
 *                   flow control this bounds what is buffered per server, whatever the model size
 * @param wireDType  F32 as trained, or F16 / BF16 to halve the bytes (the server converts to its serving dtype)
 * @param deadline   limit on one whole push to one server
 */
public record PushOptions(int chunkBytes, DType wireDType, Duration deadline) {
    /**
     * 4 MiB less room for the chunk's name, shape and framing, so that a message fits gRPC's default 4 MiB
     * inbound limit (a server that raises its limit can be sent larger chunks).
     */
    public static final int DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024 - 64 * 1024;
    public static final PushOptions DEFAULT = new PushOptions(DEFAULT_CHUNK_BYTES, DType.F32, Duration.ofMinutes(10));

    public PushOptions {
        if (chunkBytes <= 0 || chunkBytes % 4 != 0) {
            throw new IllegalArgumentException("weight push chunk size must be a positive multiple of 4 bytes, got " + chunkBytes);
        }
        if (wireDType == null) {
            throw new IllegalArgumentException("weight push wire dtype is null");
        }
        if (deadline == null || deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("weight push deadline must be positive, got " + deadline);
        }
    }

    public PushOptions withChunkBytes(int bytes) {
        return new PushOptions(bytes, wireDType, deadline);
    }

    public PushOptions withWireDType(DType dtype) {
        return new PushOptions(chunkBytes, dtype, deadline);
    }

    public PushOptions withDeadline(Duration d) {
        return new PushOptions(chunkBytes, wireDType, d);
    }
}
