package dev.rollout.tokenizer.template;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Python's {@code str()} and {@code repr()} of template values, which is how Jinja2 prints {@code {{ x }}}:
 * {@code True}/{@code False}, {@code None}, {@code 1e+20}, and lists and dicts with their items' reprs
 * ({@code ['a', True, None]}, {@code {'k': "it's"}}). jinjava would print {@code true}, nothing, {@code 1.0E20} and
 * JSON-like lists.
 */
final class PythonStr {
    private PythonStr() {
    }

    /**
     * {@code str(value)}. A null prints as nothing: jinjava does not tell Python's None from an undefined variable,
     * and undefined is what templates print in practice (a special token the tokenizer lacks).
     */
    static String str(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof CharSequence s) {
            return s.toString();
        }
        return repr(value);
    }

    /** {@code repr(value)} for the types a template handles; other objects print as Java prints them. */
    static String repr(Object value) {
        StringBuilder out = new StringBuilder();
        repr(value, out);
        return out.toString();
    }

    private static void repr(Object value, StringBuilder out) {
        if (value == null) {
            out.append("None");
        } else if (value instanceof Boolean b) {
            out.append(b ? "True" : "False");
        } else if (value instanceof CharSequence s) {
            quote(s.toString(), out);
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Number n) {
            out.append(floatRepr(n.doubleValue()));
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            String separator = "";
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(separator);
                repr(e.getKey(), out);
                out.append(": ");
                repr(e.getValue(), out);
                separator = ", ";
            }
            out.append('}');
        } else if (value instanceof Collection<?> || value instanceof Object[]) {
            Iterator<?> items = value instanceof Object[] array ? Arrays.asList(array).iterator() : ((Collection<?>) value).iterator();
            out.append('[');
            while (items.hasNext()) {
                repr(items.next(), out);
                if (items.hasNext()) {
                    out.append(", ");
                }
            }
            out.append(']');
        } else {
            out.append(value);
        }
    }

    /** Python's {@code repr(float)}; JSON's spelling of the non-finite values is not Python's. */
    private static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        return PythonToJson.pythonFloat(d);
    }

    /**
     * Python's string repr: single quotes unless the text holds a single quote and no double quote; backslash, the
     * quote, {@code \n}, {@code \r}, {@code \t} escaped, other unprintable characters as {@code \xNN}/{@code \\uNNNN}.
     */
    private static void quote(String s, StringBuilder out) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        out.append(quote);
        s.codePoints().forEach(cp -> {
            if (cp == quote || cp == '\\') {
                out.append('\\').appendCodePoint(cp);
            } else if (cp == '\n') {
                out.append("\\n");
            } else if (cp == '\r') {
                out.append("\\r");
            } else if (cp == '\t') {
                out.append("\\t");
            } else if (!isPrintable(cp)) {
                out.append(cp <= 0xff ? String.format("\\x%02x", cp)
                        : cp <= 0xffff ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        out.append(quote);
    }

    /** Python's {@code str.isprintable} for one character: not a control, format, separator or unassigned one. */
    private static boolean isPrintable(int cp) {
        if (cp == ' ') {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }
}
