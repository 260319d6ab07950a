package dev.rollout.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Writes {@code .safetensors} files laid out as the Hugging Face safetensors library lays them out. */
public final class SafetensorsWriter {
    /** What PyTorch's {@code save_file} records; transformers warns on files without it. */
    public static final Map<String, String> PT_METADATA = Map.of("format", "pt");

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    /**
     * Writes the tensors to {@code file} (replacing it atomically: a reader never sees half a file). As the
     * safetensors library does, tensors are ordered by element size descending, then by name, so every tensor starts
     * at a multiple of its element size, and the header is padded with spaces to a multiple of 8 bytes.
     */
    public static void write(Path file, Collection<HostTensor> tensors, Map<String, String> metadata) throws IOException {
        List<HostTensor> ordered = new ArrayList<>(tensors);
        ordered.sort(Comparator.comparingInt((HostTensor t) -> -t.dtype().bytes()).thenComparing(HostTensor::name));
        Set<String> seen = new HashSet<>();
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> meta.put(e.getKey(), e.getValue()));
        }
        long offset = 0;
        for (HostTensor t : ordered) {
            if (!seen.add(t.name())) {
                throw new IllegalArgumentException(file + ": tensor name '" + t.name() + "' given twice");
            }
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(json);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        prefix.flip();

        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // not Files.createTempFile: its owner-only permissions would stay on the finished file
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, prefix);
                for (HostTensor t : ordered) {
                    writeFully(out, t.data());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }
}
