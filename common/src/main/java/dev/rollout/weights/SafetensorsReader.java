package dev.rollout.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the data. The header is validated completely on {@link #open}; each tensor is
 * memory-mapped on {@link #get}, so files of any size are read without copying (one tensor must fit a
 * {@link ByteBuffer}, i.e. be under 2 GiB).
 */
public final class SafetensorsReader implements AutoCloseable {
    /** The safetensors library refuses headers above 100 MB; so do we, before allocating. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where one tensor lies in the file; dtypeName is the header's string, which may be a type we cannot hold. */
    private record Entry(String name, String dtypeName, long[] shape, long begin, long end) {}

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsReader(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsReader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw invalid(file, "file is " + fileSize + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES) {
                throw invalid(file, "header length " + Long.toUnsignedString(headerLength)
                        + " is not in 1.." + MAX_HEADER_BYTES + " (not a safetensors file?)");
            }
            if (8 + headerLength > fileSize) {
                throw invalid(file, "header of " + headerLength + " bytes runs past the end of the " + fileSize
                        + "-byte file (truncated?)");
            }
            ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength);
            String header = StandardCharsets.UTF_8.decode(headerBytes).toString();
            long dataStart = 8 + headerLength;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(file, header, fileSize - dataStart, metadata);
            return new SafetensorsReader(file, channel, dataStart, entries, Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static Map<String, Entry> parseHeader(Path file, String header, long dataSize, Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw invalid(file, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw invalid(file, "header must be a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) {
                    throw invalid(file, "__metadata__ must be an object of strings");
                }
                node.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) {
                        throw invalid(file, "__metadata__ value '" + m.getKey() + "' is not a string");
                    }
                    metadata.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            entries.put(name, parseEntry(file, name, node, dataSize));
        }
        checkNoOverlap(file, entries.values());
        return Collections.unmodifiableMap(entries);
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
        String where = "tensor '" + name + "'";
        if (!node.isObject() || !node.path("dtype").isTextual() || !node.path("shape").isArray()
                || !node.path("data_offsets").isArray() || node.path("data_offsets").size() != 2) {
            throw invalid(file, where + " needs dtype (string), shape (array) and data_offsets ([begin, end]), got " + node);
        }
        String dtypeName = node.get("dtype").asText();
        int elementBytes = elementBytes(dtypeName);
        if (elementBytes == 0) {
            throw invalid(file, where + " has unknown dtype '" + dtypeName + "'");
        }
        long[] shape = new long[node.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get("shape").get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw invalid(file, where + " has an invalid shape " + node.get("shape"));
            }
            shape[i] = d.asLong();
        }
        JsonNode offsets = node.get("data_offsets");
        if (!offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw invalid(file, where + " has non-integer data_offsets " + offsets);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw invalid(file, where + " has invalid data_offsets " + offsets);
        }
        long expected;
        try {
            expected = Math.multiplyExact(HostTensor.numElements(shape), elementBytes);
        } catch (ArithmeticException e) {
            throw invalid(file, where + " has a shape too large: " + Arrays.toString(shape));
        }
        if (end - begin != expected) {
            throw invalid(file, where + " of dtype " + dtypeName + " and shape " + Arrays.toString(shape) + " needs "
                    + expected + " bytes but data_offsets " + offsets + " span " + (end - begin));
        }
        if (end > dataSize) {
            throw invalid(file, where + " ends at data byte " + end + " but the file holds only " + dataSize
                    + " bytes of data (truncated?)");
        }
        return new Entry(name, dtypeName, shape, begin, end);
    }

    private static void checkNoOverlap(Path file, java.util.Collection<Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw invalid(file, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + ") and '"
                        + cur.name() + "' [" + cur.begin() + ", " + cur.end() + ") overlap");
            }
        }
    }

    /** Bytes per element of every safetensors dtype, so headers of types we do not load still validate; 0 if unknown. */
    private static int elementBytes(String dtypeName) {
        return switch (dtypeName) {
            case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3" -> 1;
            case "I16", "U16", "F16", "BF16" -> 2;
            case "I32", "U32", "F32" -> 4;
            case "I64", "U64", "F64" -> 8;
            default -> 0;
        };
    }

    public Path file() {
        return file;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The header's {@code __metadata__} (e.g. {"format": "pt"}); empty if absent. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor, its bytes a read-only mapping of the file: nothing is copied. */
    public HostTensor get(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(file + ": no tensor named '" + name + "'");
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(e.dtypeName());
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "': " + ex.getMessage(), ex);
        }
        long size = e.end() - e.begin();
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + size
                    + " bytes; tensors above 2 GiB cannot be mapped into one buffer");
        }
        ByteBuffer mapped;
        try {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), size);
        } catch (ClosedChannelException ex) {
            throw new IllegalStateException(file + ": reader is closed", ex);
        }
        return new HostTensor(name, dtype, e.shape(), mapped);
    }

    /** Closes the file; tensors already returned stay readable (a mapping outlives its channel). */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return buf.flip();
    }

    private static IllegalArgumentException invalid(Path file, String message) {
        return new IllegalArgumentException(file + ": invalid safetensors file: " + message);
    }
}
