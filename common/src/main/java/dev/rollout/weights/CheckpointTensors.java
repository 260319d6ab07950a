package dev.rollout.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of a checkpoint directory: one {@code model.safetensors}, or several shards listed in
 * {@code model.safetensors.index.json} (Hugging Face's layout). Tensors are memory-mapped, not copied.
 */
public final class CheckpointTensors implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Map<String, SafetensorsReader> byName;
    private final List<SafetensorsReader> readers;

    private CheckpointTensors(Path dir, Map<String, SafetensorsReader> byName, List<SafetensorsReader> readers) {
        this.dir = dir;
        this.byName = byName;
        this.readers = readers;
    }

    public static CheckpointTensors open(Path dir) throws IOException {
        Path index = dir.resolve(INDEX_FILE);
        Path single = dir.resolve(SINGLE_FILE);
        // the order transformers' from_pretrained looks in: a single file wins over an index
        if (Files.isRegularFile(single)) {
            SafetensorsReader reader = SafetensorsReader.open(single);
            Map<String, SafetensorsReader> byName = new LinkedHashMap<>();
            reader.names().forEach(n -> byName.put(n, reader));
            return new CheckpointTensors(dir, byName, List.of(reader));
        }
        if (Files.isRegularFile(index)) {
            return openIndexed(dir, index);
        }
        throw new IOException(dir + " holds neither " + SINGLE_FILE + " nor " + INDEX_FILE
                + " (only safetensors checkpoints are supported; convert .bin/.pt weights first)");
    }

    private static CheckpointTensors openIndexed(Path dir, Path index) throws IOException {
        JsonNode weightMap;
        try {
            weightMap = JSON.readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new IOException(index + " is not valid JSON: " + e.getMessage(), e);
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new IOException(index + " has no weight_map object naming each tensor's file");
        }
        Map<String, SafetensorsReader> files = new LinkedHashMap<>();
        Map<String, SafetensorsReader> byName = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String fileName = e.getValue().asText();
                Path shard = dir.resolve(fileName).normalize();
                if (!shard.startsWith(dir.normalize()) || fileName.isEmpty()) {
                    throw new IOException(index + ": tensor '" + e.getKey() + "' points outside the directory: '" + fileName + "'");
                }
                if (!files.containsKey(fileName)) {
                    if (!Files.isRegularFile(shard)) {
                        throw new IOException(index + " lists shard '" + fileName + "' (for tensor '" + e.getKey()
                                + "') but " + shard + " does not exist");
                    }
                    files.put(fileName, SafetensorsReader.open(shard));
                }
                SafetensorsReader reader = files.get(fileName);
                if (!reader.contains(e.getKey())) {
                    throw new IOException(index + " places tensor '" + e.getKey() + "' in " + fileName
                            + ", which does not contain it");
                }
                byName.put(e.getKey(), reader);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsReader r : files.values()) {
                r.close();
            }
            throw e;
        }
        return new CheckpointTensors(dir, byName, List.copyOf(files.values()));
    }

    public Path dir() {
        return dir;
    }

    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The named tensor as a mapped, uncopied {@link HostTensor}. */
    public HostTensor get(String name) throws IOException {
        SafetensorsReader reader = byName.get(name);
        if (reader == null) {
            throw new IllegalArgumentException(dir + ": the checkpoint has no tensor named '" + name + "'");
        }
        return reader.get(name);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsReader r : readers) {
            try {
                r.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Writes the tensors into {@code dir} split the way Hugging Face's {@code save_pretrained} splits them: in the
     * given order, a new shard whenever the next tensor would push the current one past {@code maxShardBytes} (a
     * tensor larger than that gets a shard of its own). One shard is written as {@code model.safetensors} without an
     * index; several as {@code model-0000i-of-0000n.safetensors} with {@code model.safetensors.index.json}.
     */
    public static void writeSharded(Path dir, Collection<HostTensor> tensors, long maxShardBytes) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<HostTensor>> shards = new ArrayList<>();
        List<HostTensor> current = new ArrayList<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (HostTensor t : tensors) {
            if (!current.isEmpty() && currentBytes + t.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += t.byteSize();
            totalBytes += t.byteSize();
        }
        shards.add(current);
        Files.createDirectories(dir);
        if (shards.size() == 1) {
            SafetensorsWriter.write(dir.resolve(SINGLE_FILE), shards.get(0), SafetensorsWriter.PT_METADATA);
            Files.deleteIfExists(dir.resolve(INDEX_FILE));
            return;
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String fileName = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafetensorsWriter.write(dir.resolve(fileName), shards.get(i), SafetensorsWriter.PT_METADATA);
            shards.get(i).forEach(t -> weightMap.put(t.name(), fileName));
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.writeString(dir.resolve(INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n");
        // a stale single file would shadow the shards: it is looked for first, here and by transformers
        Files.deleteIfExists(dir.resolve(SINGLE_FILE));
    }
}
