package dev.rollout.trainer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a config's YAML text and {@code key=value} overrides into one flat map of dotted key to raw value, with old
 * and alternative key names resolved to the current ones; parsing each value is {@link ConfigKey}'s job.
 */
final class ConfigReader {
    // deprecation warnings belong to the config being loaded, so they log under its name
    private static final Logger LOG = LoggerFactory.getLogger(TrainerConfig.class);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigReader() {
    }

    /** The raw values of {@code yaml} then {@code overrides}; each deprecated key used is logged and added to {@code deprecations}. */
    static Map<String, Object> read(String yaml, List<String> overrides, List<String> deprecations) {
        Map<String, Object> raw = new LinkedHashMap<>();
        flatten(readYaml(yaml, null), "", raw);
        for (String override : overrides) {
            applyOverride(override, raw);
        }
        resolveOtherNames(raw, deprecations);
        return raw;
    }

    private static Object readYaml(String text, String key) {
        try {
            return text.isBlank() ? null : YAML.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ConfigException(key, "not valid YAML" + where + ": " + e.getOriginalMessage());
        }
    }

    private static void flatten(Object node, String prefix, Map<String, Object> out) {
        if (node == null) {
            return;
        }
        if (!(node instanceof Map<?, ?> map)) {
            throw new ConfigException(null, "the config must be a YAML mapping of keys to values, got: " + node);
        }
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String name = prefix + entry.getKey();
            if (entry.getValue() instanceof Map<?, ?> && prefix.isEmpty() && ConfigKeys.SECTIONS.contains(name)) {
                flatten(entry.getValue(), name + ".", out);
            } else if (entry.getValue() instanceof Map<?, ?> && prefix.isEmpty() && ConfigKeys.MAPPINGS.contains(name)) {
                out.put(name, entry.getValue());
            } else if (entry.getValue() instanceof Map<?, ?>) {
                throw ConfigKeys.get(name) == null && !ConfigKeys.SECTIONS.contains(name)
                        ? unknownKey(name)
                        : new ConfigException(name, "takes a single value, not a mapping");
            } else {
                out.put(name, entry.getValue());
            }
        }
    }

    private static void applyOverride(String override, Map<String, Object> raw) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException(null, "an override must look like key=value, got '" + override + "'");
        }
        String key = override.substring(0, eq).strip();
        String text = override.substring(eq + 1).strip();
        // the value is read as a YAML scalar or flow list, as it would be in the file
        raw.put(key, text.isEmpty() ? null : readYaml(text, key));
    }

    private static void resolveOtherNames(Map<String, Object> raw, List<String> deprecations) {
        for (Map.Entry<String, String> legacy : ConfigKeys.LEGACY.entrySet()) {
            if (raw.containsKey(legacy.getKey())) {
                String message = "config key '" + legacy.getKey() + "' is deprecated; use '" + legacy.getValue() + "' instead";
                LOG.warn(message);
                deprecations.add(message);
                rename(raw, legacy.getKey(), legacy.getValue());
            }
        }
        for (Map.Entry<String, String> alias : ConfigKeys.ALIASES.entrySet()) {
            if (raw.containsKey(alias.getKey())) {
                rename(raw, alias.getKey(), alias.getValue());
            }
        }
    }

    private static void rename(Map<String, Object> raw, String from, String to) {
        Object value = raw.remove(from);
        Object current = raw.get(to);
        if (current != null && !current.equals(value)) {
            throw new ConfigException(from, "conflicts with '" + to + "' (" + value + " vs " + current + "); set only '" + to + "'");
        }
        raw.put(to, value);
    }

    static ConfigException unknownKey(String name) {
        String nearest = ConfigKeys.ALL.stream().map(ConfigKey::name)
                .min(Comparator.comparingInt(known -> editDistance(known, name))).orElseThrow();
        String hint = editDistance(nearest, name) <= Math.max(2, name.length() / 4) ? " Did you mean '" + nearest + "'?" : "";
        return new ConfigException(name, "unknown key." + hint + " Every key is listed in docs/configuration.md.");
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
