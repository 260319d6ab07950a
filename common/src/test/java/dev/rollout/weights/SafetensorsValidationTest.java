package dev.rollout.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsValidationTest {
    @TempDir
    Path dir;

    /** A file with the given header text and {@code dataBytes} zero bytes of data. */
    private Path fileWith(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, b.array());
        return file;
    }

    private static String messageOf(Path file) {
        return assertThrows(IllegalArgumentException.class, () -> SafetensorsReader.open(file).close()).getMessage();
    }

    @Test
    void headerThatIsNotJsonIsRefusedNamingTheFile() throws IOException {
        Path file = fileWith("{\"w\": {\"dtype\": \"F32\",", 0);
        String message = messageOf(file);
        assertTrue(message.startsWith(file + ": invalid safetensors file: header is not valid JSON"), message);
    }

    @Test
    void headerLengthBeyondTheFileIsRefused() throws IOException {
        Path file = dir.resolve("bad.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(file, b.array());
        assertTrue(messageOf(file).contains("header of 1000 bytes runs past the end of the 16-byte file (truncated?)"));
    }

    @Test
    void absurdHeaderLengthIsRefusedBeforeReading() throws IOException {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, "PK\u0003\u0004 not safetensors at all".getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(messageOf(file).contains("(not a safetensors file?)"), messageOf(file));
    }

    @Test
    void fileTooShortForTheLengthIsRefused() throws IOException {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertTrue(messageOf(file).contains("file is 3 bytes, too short"));
    }

    @Test
    void truncatedDataIsRefusedNamingTheTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, List.of(
                HostTensor.ofFloats("first", new long[] {4}, new float[4]),
                HostTensor.ofFloats("second", new long[] {4}, new float[4])), Map.of());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 3);
        }
        assertTrue(messageOf(file).endsWith(
                "tensor 'second' ends at data byte 32 but the file holds only 29 bytes of data (truncated?)"), messageOf(file));
    }

    @Test
    void offsetsDisagreeingWithShapeAndDtypeAreRefused() throws IOException {
        Path file = fileWith("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8);
        assertTrue(messageOf(file).endsWith(
                "tensor 'w' of dtype F16 and shape [2, 3] needs 12 bytes but data_offsets [0,8] span 8"), messageOf(file));
    }

    @Test
    void overlappingTensorsAreRefused() throws IOException {
        Path file = fileWith("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertTrue(messageOf(file).endsWith("tensors 'a' [0, 8) and 'b' [4, 12) overlap"), messageOf(file));
    }

    @Test
    void negativeDimensionIsRefused() throws IOException {
        Path file = fileWith("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0);
        assertTrue(messageOf(file).endsWith("tensor 'w' has an invalid shape [-1]"), messageOf(file));
    }

    @Test
    void unknownDtypeIsRefusedWhenOpening() throws IOException {
        Path file = fileWith("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertTrue(messageOf(file).endsWith("tensor 'w' has unknown dtype 'Q4'"), messageOf(file));
    }

    @Test
    void knownButUnsupportedDtypeIsRefusedWhenTheTensorIsRequested() throws IOException {
        Path file = fileWith("{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20);
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(1, r.get("w").numElements());
            String message = assertThrows(IllegalArgumentException.class, () -> r.get("ids")).getMessage();
            assertEquals(file + ": tensor 'ids': unsupported tensor dtype 'I64' (supported: F32, F16, BF16)", message);
        }
    }

    @Test
    void askingForAnAbsentTensorNamesIt() throws IOException {
        Path file = fileWith("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        try (SafetensorsReader r = SafetensorsReader.open(file)) {
            assertEquals(file + ": no tensor named 'v'",
                    assertThrows(IllegalArgumentException.class, () -> r.get("v")).getMessage());
        }
    }
}
