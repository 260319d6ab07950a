package dev.rollout.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Reads YAML files (one or several documents) as Jackson trees. */
final class Yaml {
    static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());

    private Yaml() {
    }

    static List<JsonNode> documents(Path file) throws IOException {
        try (MappingIterator<JsonNode> docs = MAPPER.readerFor(JsonNode.class).readValues(file.toFile())) {
            return docs.readAll().stream().filter(doc -> doc != null && !doc.isNull() && !doc.isMissingNode()).toList();
        }
    }

    /** The file's only document. */
    static JsonNode document(Path file) throws IOException {
        List<JsonNode> docs = documents(file);
        if (docs.size() != 1) {
            throw new IllegalStateException(file + " holds " + docs.size() + " YAML documents, expected one");
        }
        return docs.get(0);
    }
}
