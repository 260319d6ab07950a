package dev.rollout.trainer.config;

import static dev.rollout.trainer.config.RawValues.toBoolean;
import static dev.rollout.trainer.config.RawValues.toDouble;
import static dev.rollout.trainer.config.RawValues.toList;
import static dev.rollout.trainer.config.RawValues.toLong;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * One configuration key: its name (dotted inside a section), the kind of value it takes, its default (which may differ
 * between GRPO and RLOO, as in TRL) and what it means. {@link #parse} turns what YAML or {@code --set} produced into
 * the typed value, or fails naming the key and what it accepts.
 */
public final class ConfigKey {
    /** Turns a raw YAML value (String, Number, Boolean, List or null) into the key's typed value. */
    @FunctionalInterface
    interface Parser {
        Object parse(String key, Object raw);
    }

    private final String name;
    private final String type;
    private final Object grpoDefault;
    private final Object rlooDefault;
    private final String meaning;
    private final Parser parser;

    private ConfigKey(String name, String type, Object grpoDefault, Object rlooDefault, String meaning, Parser parser) {
        this.name = name;
        this.type = type;
        this.grpoDefault = grpoDefault;
        this.rlooDefault = rlooDefault;
        this.meaning = meaning;
        this.parser = parser;
    }

    public String name() {
        return name;
    }

    /** The accepted values in words, e.g. "integer >= 1" or "one of: group, batch, none". */
    public String type() {
        return type;
    }

    public String meaning() {
        return meaning;
    }

    public Object defaultFor(TrainerType trainer) {
        return trainer == TrainerType.RLOO ? rlooDefault : grpoDefault;
    }

    /** The default as the documentation shows it: one value, or the GRPO and RLOO values when they differ. */
    public String defaultText() {
        if (Objects.equals(grpoDefault, rlooDefault)) {
            return show(grpoDefault);
        }
        return show(grpoDefault) + " (grpo), " + show(rlooDefault) + " (rloo)";
    }

    Object parse(Object raw) {
        return parser.parse(name, raw);
    }

    /** The same key with a different default under RLOO. */
    ConfigKey withRlooDefault(Object value) {
        return new ConfigKey(name, type, grpoDefault, value, meaning, parser);
    }

    private static String show(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof ConfigChoice choice) {
            return choice.configName();
        }
        if (value instanceof List<?> list) {
            return list.stream().map(ConfigKey::show).collect(Collectors.joining(", ", "[", "]"));
        }
        return value.toString();
    }

    // ---- factories, one per kind of value ----

    static ConfigKey integer(String name, Integer def, long min, String meaning) {
        return new ConfigKey(name, "integer >= " + min, def, def, meaning, (key, raw) -> {
            long v = toLong(key, raw, "an integer >= " + min);
            if (v < min || v > Integer.MAX_VALUE) {
                throw new ConfigException(key, "must be an integer >= " + min + ", got " + raw);
            }
            return (int) v;
        });
    }

    /** An integer >= min, or null (meaning "derived from other keys", as the meaning says). */
    static ConfigKey integerOrNull(String name, long min, String meaning) {
        return new ConfigKey(name, "integer >= " + min + ", or null", null, null, meaning,
                (key, raw) -> raw == null ? null : integer(name, null, min, meaning).parse(raw));
    }

    static ConfigKey longInteger(String name, Long def, long min, String meaning) {
        String type = min == Long.MIN_VALUE ? "integer" : "integer >= " + min;
        return new ConfigKey(name, type, def, def, meaning, (key, raw) -> {
            long v = toLong(key, raw, "an " + type);
            if (v < min) {
                throw new ConfigException(key, "must be an " + type + ", got " + raw);
            }
            return v;
        });
    }

    /** A number in [min, max] (either bound may be infinite); nullable keys also accept null. */
    static ConfigKey number(String name, Double def, double min, double max, boolean nullable, String meaning) {
        String range = rangeText(min, max) + (nullable ? ", or null" : "");
        return new ConfigKey(name, range, def, def, meaning, (key, raw) -> {
            if (raw == null) {
                if (nullable) {
                    return null;
                }
                throw new ConfigException(key, "must be " + range + ", got null");
            }
            double v = toDouble(key, raw, range);
            if (Double.isNaN(v) || v < min || v > max) {
                throw new ConfigException(key, "must be " + range + ", got " + raw);
            }
            return v;
        });
    }

    /** A number strictly above {@code exclusiveMin}. */
    static ConfigKey positive(String name, Double def, double exclusiveMin, String meaning) {
        String range = "a number > " + trim(exclusiveMin);
        return new ConfigKey(name, range, def, def, meaning, (key, raw) -> {
            double v = toDouble(key, raw, range);
            if (!(v > exclusiveMin) || Double.isInfinite(v)) {
                throw new ConfigException(key, "must be " + range + ", got " + raw);
            }
            return v;
        });
    }

    static ConfigKey bool(String name, boolean def, String meaning) {
        return new ConfigKey(name, "true or false", def, def, meaning, (key, raw) -> toBoolean(key, raw));
    }

    static ConfigKey text(String name, String def, boolean nullable, String meaning) {
        return new ConfigKey(name, nullable ? "text, or null" : "text", def, def, meaning, (key, raw) -> {
            if (raw == null || raw.toString().isBlank()) {
                if (nullable) {
                    return null;
                }
                throw new ConfigException(key, "must be a non-empty text");
            }
            if (raw instanceof List<?> || raw instanceof java.util.Map<?, ?>) {
                throw new ConfigException(key, "must be a single text, got " + raw);
            }
            return raw.toString();
        });
    }

    /** One of a fixed set of words, kept as a String (for choices no code switches on). */
    static ConfigKey word(String name, String def, List<String> allowed, String meaning) {
        String type = "one of: " + String.join(", ", allowed);
        return new ConfigKey(name, type, def, def, meaning, (key, raw) -> {
            String v = raw == null ? null : raw.toString();
            if (!allowed.contains(v)) {
                throw new ConfigException(key, "must be " + type + "; got " + raw);
            }
            return v;
        });
    }

    static <E extends Enum<E> & ConfigChoice> ConfigKey choice(String name, Class<E> type, E def, String meaning) {
        String allowed = "one of: " + Arrays.stream(type.getEnumConstants()).map(ConfigChoice::configName)
                .collect(Collectors.joining(", "));
        return new ConfigKey(name, allowed, def, def, meaning, (key, raw) -> {
            for (E constant : type.getEnumConstants()) {
                if (raw != null && constant.configName().equals(raw.toString())) {
                    return constant;
                }
            }
            throw new ConfigException(key, "must be " + allowed + "; got " + raw);
        });
    }

    /** scale_rewards: TRL also accepts true (= group) and false (= none). */
    static ConfigKey scaleRewards(String name, ScaleRewards def, String meaning) {
        ConfigKey plain = choice(name, ScaleRewards.class, def, meaning);
        return new ConfigKey(name, plain.type + " (true = group, false = none)", def, def, meaning, (key, raw) -> {
            if (raw instanceof Boolean b) {
                return b ? ScaleRewards.GROUP : ScaleRewards.NONE;
            }
            if ("true".equals(raw) || "false".equals(raw)) {
                return "true".equals(raw) ? ScaleRewards.GROUP : ScaleRewards.NONE;
            }
            return plain.parse(raw);
        });
    }

    /** A list of texts; a key whose default is null also accepts null. */
    static ConfigKey words(String name, List<String> def, String meaning) {
        return new ConfigKey(name, def == null ? "list of texts, or null" : "list of texts", def, def, meaning, (key, raw) -> {
            if (raw == null && def == null) {
                return null;
            }
            List<String> out = new ArrayList<>();
            for (Object item : toList(key, raw)) {
                if (item == null || item.toString().isBlank() || item instanceof List<?>) {
                    throw new ConfigException(key, "must be a list of non-empty texts, got " + raw);
                }
                out.add(item.toString().strip());
            }
            return List.copyOf(out);
        });
    }

    /**
     * A mapping from names to mappings of argument names to values, or null (none). YAML mapping keys stay text, so a
     * class name with dots is one key.
     */
    static ConfigKey mapping(String name, String meaning) {
        return new ConfigKey(name, "mapping of names to mappings, or null", null, null, meaning, (key, raw) -> {
            if (raw == null) {
                return null;
            }
            if (!(raw instanceof Map<?, ?> map)) {
                throw new ConfigException(key, "must be a mapping of names to mappings of arguments, got " + raw);
            }
            Map<String, Map<String, Object>> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!(entry.getValue() instanceof Map<?, ?> args)) {
                    throw new ConfigException(key + "." + entry.getKey(),
                            "must be a mapping of argument names to values, got " + entry.getValue());
                }
                Map<String, Object> copy = new LinkedHashMap<>();
                args.forEach((k, v) -> copy.put(String.valueOf(k), v));
                out.put(String.valueOf(entry.getKey()), Collections.unmodifiableMap(copy));
            }
            return Collections.unmodifiableMap(out);
        });
    }

    /** A list of numbers, or null (meaning "the documented default"). */
    static ConfigKey numbers(String name, String meaning) {
        return new ConfigKey(name, "list of numbers, or null", null, null, meaning, (key, raw) -> {
            if (raw == null) {
                return null;
            }
            List<Double> out = new ArrayList<>();
            for (Object item : toList(key, raw)) {
                double v = toDouble(key, item, "a list of numbers");
                if (!Double.isFinite(v)) {
                    throw new ConfigException(key, "must be a list of finite numbers, got " + raw);
                }
                out.add(v);
            }
            return List.copyOf(out);
        });
    }

    private static String rangeText(double min, double max) {
        if (Double.isInfinite(min) && Double.isInfinite(max)) {
            return "a number";
        }
        if (Double.isInfinite(max)) {
            return "a number >= " + trim(min);
        }
        if (Double.isInfinite(min)) {
            return "a number <= " + trim(max);
        }
        return "a number in [" + trim(min) + ", " + trim(max) + "]";
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
