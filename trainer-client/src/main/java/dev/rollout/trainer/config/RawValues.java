package dev.rollout.trainer.config;

import java.util.Arrays;
import java.util.List;

/**
 * Conversions from what YAML (or a {@code --set} value) produces to the Java value a key takes, lenient where people
 * write values loosely, failing with a {@link ConfigException} naming the key otherwise.
 */
final class RawValues {
    private RawValues() {
    }

    static List<?> toList(String key, Object raw) {
        if (raw instanceof List<?> list) {
            return list;
        }
        if (raw instanceof String s && !s.isBlank()) {
            // "--set reward_funcs=accuracy,format" is the natural way to write a list on a command line
            return Arrays.stream(s.split(",")).map(String::strip).toList();
        }
        throw new ConfigException(key, "must be a list, got " + raw);
    }

    static long toLong(String key, Object raw, String expected) {
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
            return ((Number) raw).longValue();
        }
        if (raw instanceof java.math.BigInteger) {
            throw new ConfigException(key, "must be " + expected + ", got " + raw + " (too large)");
        }
        if (raw instanceof String s) {
            try {
                return Long.parseLong(s.strip());
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new ConfigException(key, "must be " + expected + ", got " + raw);
    }

    static double toDouble(String key, Object raw, String expected) {
        if (raw instanceof Number n) {
            return n.doubleValue();
        }
        if (raw instanceof String s) {
            // YAML 1.1 reads "1e-6" (no dot) as text; people write it anyway
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new ConfigException(key, "must be " + expected + ", got " + raw);
    }

    static boolean toBoolean(String key, Object raw) {
        if (raw instanceof Boolean b) {
            return b;
        }
        if ("true".equals(raw) || "false".equals(raw)) {
            return Boolean.parseBoolean((String) raw);
        }
        throw new ConfigException(key, "must be true or false, got " + raw);
    }
}
