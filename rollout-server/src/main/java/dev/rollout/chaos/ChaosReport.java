package dev.rollout.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The campaign's results as a Markdown summary (table, then failures and facts per check) and as JSON. */
final class ChaosReport {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ChaosReport() {}

    static boolean passed(List<CheckResult> results) {
        return results.stream().allMatch(CheckResult::passed);
    }

    static String markdown(String target, List<CheckResult> results) {
        StringBuilder out = new StringBuilder();
        out.append("Reliability campaign against ").append(target).append(": ")
                .append(passed(results) ? "PASSED" : "FAILED").append("\n\n");
        out.append("| check | calls | outcomes | failures | WARN/ERROR log lines | seconds | result |\n");
        out.append("|---|---:|---|---:|---:|---:|---|\n");
        for (CheckResult r : results) {
            String outcomes = r.outcomes().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                    .collect(Collectors.joining(", "));
            out.append(String.format("| %s | %d | %s | %d | %s | %.1f | %s |%n", r.name, r.total(), outcomes, r.failureCount(),
                    r.logLines() < 0 ? "n/a" : Long.toString(r.logLines()), r.seconds(), r.passed() ? "pass" : "FAIL"));
        }
        for (CheckResult r : results) {
            if (r.failures().isEmpty() && r.facts().isEmpty()) {
                continue;
            }
            out.append("\n### ").append(r.name).append("\n");
            for (Map.Entry<String, Object> f : r.facts().entrySet()) {
                out.append("- ").append(f.getKey()).append(": ").append(f.getValue()).append("\n");
            }
            for (Map.Entry<String, Long> f : r.failures().entrySet()) {
                out.append("- FAILURE").append(f.getValue() > 1 ? " (x" + f.getValue() + ")" : "").append(": ").append(f.getKey()).append("\n");
            }
            long unlisted = r.failureCount() - r.failures().values().stream().mapToLong(Long::longValue).sum();
            if (unlisted > 0) {
                out.append("- ... and ").append(unlisted).append(" more failures of other kinds\n");
            }
        }
        return out.toString();
    }

    static void writeJson(String target, List<CheckResult> results, Path file) throws IOException {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("target", target);
        root.put("passed", passed(results));
        var checks = root.putArray("checks");
        for (CheckResult r : results) {
            ObjectNode c = checks.addObject();
            c.put("name", r.name);
            c.put("passed", r.passed());
            c.put("calls", r.total());
            c.put("seconds", r.seconds());
            c.put("warn_error_log_lines", r.logLines());
            c.set("outcomes", MAPPER.valueToTree(r.outcomes()));
            c.put("failure_count", r.failureCount());
            c.set("failures", MAPPER.valueToTree(r.failures()));
            c.set("facts", MAPPER.valueToTree(r.facts()));
        }
        MAPPER.writeValue(file.toFile(), root);
    }
}
