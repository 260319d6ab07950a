package dev.rollout.lora;

import dev.rollout.model.ModelWeights;
import dev.rollout.weights.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Identifies base weights by content: CRC32C over every tensor's name, shape and fp32 bytes in the model's order. The
 * trainer sends it with each adapter sync and the server compares it with its own base, so an adapter is never merged
 * into weights it was not trained on. Both sides hash fp32 values, so a bf16 checkpoint and its fp32 sync agree.
 */
public final class BaseFingerprint {
    private BaseFingerprint() {}

    public static String of(ModelWeights weights) {
        return of(weights.toHost());
    }

    /** @param tensors every base tensor, in the order of {@link ModelWeights#expectedTensors} */
    public static String of(List<HostTensor> tensors) {
        CRC32C crc = new CRC32C();
        long bytes = 0;
        for (HostTensor t : tensors) {
            crc.update(t.name().getBytes(StandardCharsets.UTF_8));
            ByteBuffer shape = ByteBuffer.allocate(8 * t.shape().length).order(ByteOrder.LITTLE_ENDIAN);
            for (long d : t.shape()) {
                shape.putLong(d);
            }
            crc.update(shape.flip());
            ByteBuffer data = t.data();
            bytes += data.remaining();
            crc.update(data);
        }
        return String.format("crc32c:%08x:%d", crc.getValue(), bytes);
    }
}
