package dev.rollout.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Metric names: those the product promises, and those a PromQL expression or a /metrics page mentions. */
final class MetricNames {
    /** The server's metrics, as design.md §5 names them (Prometheus names). */
    static final Set<String> SERVER = Set.of(
            "rollout_generated_tokens_total",
            "rollout_prompt_tokens_total",
            "rollout_prefix_cache_hit_tokens_total",
            "rollout_requests_total",
            "rollout_running_sequences",
            "rollout_waiting_sequences",
            "rollout_kv_cache_blocks_used",
            "rollout_kv_cache_blocks_total",
            "rollout_preemptions_total",
            "rollout_step_seconds",
            "rollout_time_to_first_token_seconds",
            "rollout_weight_version",
            "rollout_weight_sync_seconds");

    /** Series Prometheus derives from a summary or histogram named {@code base}. */
    private static final List<String> DERIVED_SUFFIXES = List.of("_bucket", "_sum", "_count", "_max");

    private static final Pattern NAME = Pattern.compile("\\brollout_[a-z0-9_]+\\b");
    private static final Pattern TRAINER_NAME = Pattern.compile("`(rollout_trainer_[a-z0-9_]+)[`{]");
    private static final Pattern EXPOSITION_SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{|\\s)");

    private MetricNames() {
    }

    /** Every {@code rollout_*} metric a PromQL expression reads. */
    static Set<String> inExpression(String promql) {
        Set<String> names = new TreeSet<>();
        Matcher m = NAME.matcher(promql);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    /** The trainer's metric names that deploy/README.md lists for the trainer to export (each in backticks). */
    static Set<String> trainerNamesInReadme(Path readme) throws IOException {
        Set<String> names = new TreeSet<>();
        Matcher m = TRAINER_NAME.matcher(Files.readString(readme));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** The sample names on a Prometheus text-format page ({@code # HELP}/{@code # TYPE} lines skipped). */
    static Set<String> inExposition(String page) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : page.split("\n")) {
            Matcher m = EXPOSITION_SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** Whether {@code name} is one of {@code known}, or a series Prometheus derives from one (e.g. {@code _sum}). */
    static boolean isKnown(String name, Set<String> known) {
        if (known.contains(name)) {
            return true;
        }
        for (String suffix : DERIVED_SUFFIXES) {
            if (name.endsWith(suffix) && known.contains(name.substring(0, name.length() - suffix.length()))) {
                return true;
            }
        }
        return false;
    }
}
