package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}, each settable by keyword.
 * Unlike Jinja2's own {@code tojson} it neither sorts keys nor escapes HTML characters; unlike jinjava's it writes
 * Python's spacing ({@code {"a": 1, "b": [1, 2]}}) and keeps non-ASCII text as it is.
 */
final class PythonToJson implements Filter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        if (args.length > 0) {
            throw new IllegalArgumentException("tojson takes keyword arguments only (indent=..., ensure_ascii=..., "
                    + "separators=..., sort_keys=...), got " + args.length + " positional");
        }
        for (String key : kwargs.keySet()) {
            if (!List.of("ensure_ascii", "indent", "separators", "sort_keys").contains(key)) {
                throw new IllegalArgumentException("tojson has no argument '" + key + "'");
            }
        }
        Object indent = kwargs.get("indent");
        String indentUnit = indent == null ? null : indent instanceof Number n ? " ".repeat(n.intValue()) : indent.toString();
        String itemSeparator = indentUnit == null ? ", " : ",";
        String keySeparator = ": ";
        if (kwargs.get("separators") instanceof List<?> separators && separators.size() == 2) {
            itemSeparator = String.valueOf(separators.get(0));
            keySeparator = String.valueOf(separators.get(1));
        }
        Writer writer = new Writer(Boolean.TRUE.equals(kwargs.get("ensure_ascii")), indentUnit, itemSeparator, keySeparator,
                Boolean.TRUE.equals(kwargs.get("sort_keys")));
        return dumps(var, writer);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return filter(var, interpreter, args, Map.of());
    }

    private static String dumps(Object value, Writer writer) {
        StringBuilder out = new StringBuilder();
        writer.write(value, out, 0);
        return out.toString();
    }

    private record Writer(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        void write(Object value, StringBuilder out, int depth) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean b) {
                out.append(b ? "true" : "false");
            } else if (value instanceof CharSequence s) {
                string(s.toString(), out);
            } else if (value instanceof Long || value instanceof Integer || value instanceof Short
                    || value instanceof Byte || value instanceof BigInteger) {
                out.append(value);
            } else if (value instanceof Number n) {
                out.append(pythonFloat(n.doubleValue()));
            } else if (value instanceof Map<?, ?> map) {
                List<Map.Entry<String, Object>> entries = new ArrayList<>();
                map.forEach((k, v) -> entries.add(Map.entry(key(k), v == null ? NULL : v)));
                if (sortKeys) {
                    entries.sort(Map.Entry.comparingByKey());
                }
                out.append('{');
                for (int i = 0; i < entries.size(); i++) {
                    separate(i, depth + 1, out);
                    string(entries.get(i).getKey(), out);
                    out.append(keySeparator);
                    Object v = entries.get(i).getValue();
                    write(v == NULL ? null : v, out, depth + 1);
                }
                close('}', entries.isEmpty(), depth, out);
            } else if (value instanceof Collection<?> || value instanceof Object[]) {
                Collection<?> items = value instanceof Object[] array ? Arrays.asList(array) : (Collection<?>) value;
                out.append('[');
                int i = 0;
                for (Object item : items) {
                    separate(i++, depth + 1, out);
                    write(item, out, depth + 1);
                }
                close(']', items.isEmpty(), depth, out);
            } else {
                throw new IllegalArgumentException("Object of type " + value.getClass().getSimpleName() + " is not JSON serializable");
            }
        }

        private void separate(int index, int depth, StringBuilder out) {
            if (index > 0) {
                out.append(itemSeparator);
            }
            if (indent != null) {
                out.append('\n').append(indent.repeat(depth));
            }
        }

        private void close(char bracket, boolean empty, int depth, StringBuilder out) {
            if (indent != null && !empty) {
                out.append('\n').append(indent.repeat(depth));
            }
            out.append(bracket);
        }

        /** Python turns keys that are not strings into strings: {@code True} into "true", {@code None} into "null". */
        private static String key(Object k) {
            if (k == null) {
                return "null";
            }
            if (k instanceof Double || k instanceof Float) {
                return pythonFloat(((Number) k).doubleValue());
            }
            return k.toString();
        }

        private void string(String s, StringBuilder out) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }
    }

    /** Stands for a null map value while entries are collected ({@link Map#entry} refuses nulls). */
    private static final Object NULL = new Object();

    /** Python's {@code repr(float)}: positional from 1e-4 up to 1e16, scientific ({@code 1e-05}) beyond. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale();
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = exact.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
