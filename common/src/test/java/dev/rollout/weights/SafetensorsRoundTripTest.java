package dev.rollout.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static HostTensor raw(String name, DType dtype, long[] shape, byte[] bytes) {
        return new HostTensor(name, dtype, shape, ByteBuffer.wrap(bytes));
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void everyDtypeComesBackWithItsShapeAndBytes() throws IOException {
        byte[] f32 = new byte[2 * 3 * 4];
        byte[] f16 = new byte[5 * 2];
        byte[] bf16 = new byte[4 * 1 * 2 * 2];
        for (int i = 0; i < f32.length; i++) f32[i] = (byte) (i * 7 + 1);
        for (int i = 0; i < f16.length; i++) f16[i] = (byte) (i * 13 + 2);
        for (int i = 0; i < bf16.length; i++) bf16[i] = (byte) (i * 29 + 3);
        List<HostTensor> tensors = List.of(
                raw("a.f32", DType.F32, new long[] {2, 3}, f32),
                raw("b.f16", DType.F16, new long[] {5}, f16),
                raw("c.bf16", DType.BF16, new long[] {4, 1, 2}, bf16));
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors, SafetensorsWriter.PT_METADATA);

        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertEquals(List.of("a.f32", "b.f16", "c.bf16"), r.names().stream().sorted().toList());
            for (HostTensor expected : tensors) {
                HostTensor got = r.get(expected.name());
                assertEquals(expected.dtype(), got.dtype());
                assertArrayEquals(expected.shape(), got.shape());
                assertArrayEquals(bytes(expected.data()), bytes(got.data()));
            }
        }
    }

    @Test
    void headerIsPaddedToEightBytesAndEachTensorAlignedToItsElementSize() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                HostTensor.ofFloats("z", new long[] {3}, new float[] {1, 2, 3}, DType.BF16),
                HostTensor.ofFloats("a", new long[] {1}, new float[] {4}),
                HostTensor.ofFloats("m", new long[] {1}, new float[] {5}, DType.F16)), Map.of());
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = all.getLong(0);
        assertEquals(0, headerLength % 8);
        String header = new String(Files.readAllBytes(file), 8, (int) headerLength, java.nio.charset.StandardCharsets.UTF_8);
        // fp32 first, then the 2-byte types by name, as the safetensors library orders them
        assertTrue(header.startsWith("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"), header);
        assertTrue(header.contains("\"m\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[4,6]}"), header);
        assertTrue(header.contains("\"z\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[6,12]}"), header);
        assertEquals(8 + headerLength + 12, Files.size(file));
    }

    @Test
    void readTensorsAreMappedFromTheFileNotCopied() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(HostTensor.ofFloats("w", new long[] {2}, new float[] {1.5f, -2f})), Map.of());
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            HostTensor w = r.get("w");
            assertTrue(w.data().isDirect());
            assertArrayEquals(new float[] {1.5f, -2f}, w.toFloats());
        }
    }

    @Test
    void scalarsAndEmptyTensorsRoundTrip() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                HostTensor.ofFloats("scalar", new long[] {}, new float[] {7f}),
                HostTensor.ofFloats("empty", new long[] {0, 4}, new float[] {})), Map.of());
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertArrayEquals(new float[] {7f}, r.get("scalar").toFloats());
            assertArrayEquals(new long[] {0, 4}, r.get("empty").shape());
            assertEquals(0, r.get("empty").toFloats().length);
        }
    }

    @Test
    void fp32ConvertedToHalfPrecisionSurvivesSavingAndWidening() throws IOException {
        float[] values = {0f, 1f, -2.5f, 0.1f, 65504f, 1e-7f};
        HostTensor f16 = HostTensor.convert(HostTensor.ofFloats("h", new long[] {6}, values), DType.F16);
        HostTensor bf16 = HostTensor.convert(HostTensor.ofFloats("b", new long[] {6}, values), DType.BF16);
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(f16, bf16), SafetensorsWriter.PT_METADATA);
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            // 0.1 in fp16 is 0x2E66 = 0.0999755859375; 1e-7 is the subnormal 2 * 2^-24
            assertArrayEquals(new float[] {0f, 1f, -2.5f, 0.0999755859375f, 65504f, 2 * 0x1p-24f}, r.get("h").toFloats());
            // bf16 keeps 8 mantissa bits: 0.1 -> 0x3DCD = 0.10009765625, 65504 -> 65536
            assertArrayEquals(new float[] {0f, 1f, -2.5f, 0.10009765625f, 65536f, Float.intBitsToFloat(0x33D70000)},
                    r.get("b").toFloats());
        }
    }
}
