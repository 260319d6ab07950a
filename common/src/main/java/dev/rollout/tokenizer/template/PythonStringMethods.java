package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.objects.collections.PyList;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ELResolver;

/**
 * The Python {@code str} methods chat templates call ({@code content.split('</think>')[-1].lstrip('\n')},
 * {@code content.startswith('<tool_response>')}, ...), with Python's semantics, for jinjava, which would otherwise
 * look for Java methods of {@link String}: some do not exist ({@code startswith}), some mean something else
 * ({@code split} takes a regular expression and drops trailing empty parts). Also {@code text[i]}, one character.
 *
 * <p>Placed before jinjava's resolvers, it answers every method call on a string: one it does not know (another
 * name, another argument count) is an error, never a Java method of the same name ({@code '{}'.format(x)} would
 * otherwise call Java's static {@code String.format(x)}).
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(s, name, args);
        if (result == null) {
            throw new ELException("str." + name + " with " + args.length + " argument(s) is not supported in chat templates");
        }
        context.setPropertyResolved(true);
        return result;
    }

    /** The result of {@code s.name(*args)}, or null where this is not a method supported here. */
    static Object call(String s, String name, Object... args) {
        int n = args.length;
        return switch (name) {
            case "startswith" -> n == 1 ? anyMatch(args[0], s::startsWith) : null;
            case "endswith" -> n == 1 ? anyMatch(args[0], s::endsWith) : null;
            case "split" -> n <= 2 ? split(s, n > 0 ? text(args[0], "sep") : null, n > 1 ? count(args[1], "maxsplit") : -1) : null;
            case "strip" -> n <= 1 ? rstrip(lstrip(s, chars(args)), chars(args)) : null;
            case "lstrip" -> n <= 1 ? lstrip(s, chars(args)) : null;
            case "rstrip" -> n <= 1 ? rstrip(s, chars(args)) : null;
            case "upper" -> n == 0 ? s.toUpperCase(Locale.ROOT) : null;
            case "lower" -> n == 0 ? s.toLowerCase(Locale.ROOT) : null;
            case "title" -> n == 0 ? title(s) : null;
            case "replace" -> n == 2 || n == 3
                    ? replace(s, text(args[0], "old"), text(args[1], "new"), n == 3 ? count(args[2], "count") : -1)
                    : null;
            default -> null;
        };
    }

    /** {@code text[i]}: Python indexes strings by code point, counting negative indices from the end. */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (!(base instanceof String s) || !(property instanceof String key) || !key.matches("-?\\d{1,9}")) {
            return null;
        }
        int[] codePoints = s.codePoints().toArray();
        int i = Integer.parseInt(key);
        int index = i < 0 ? i + codePoints.length : i;
        if (index < 0 || index >= codePoints.length) {
            throw new ELException("string index " + i + " out of range for a string of length " + codePoints.length);
        }
        context.setPropertyResolved(true);
        return new String(codePoints, index, 1);
    }

    /** {@code prefix} may be a string or a tuple of strings, as in Python. */
    private static Boolean anyMatch(Object affix, java.util.function.Predicate<String> test) {
        if (affix instanceof Collection<?> options) {
            for (Object o : options) {
                if (test.test(text(o, "affix"))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(text(affix, "affix"));
    }

    /** {@code str.split}: with a separator, every occurrence splits; without, runs of whitespace do. */
    static PyList split(String s, String sep, int maxsplit) {
        List<Object> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int length = s.length();
            while (true) {
                while (i < length && isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= length) {
                    break;
                }
                if (maxsplit >= 0 && parts.size() == maxsplit) {
                    parts.add(s.substring(i)); // Python keeps the rest as it is, trailing whitespace too
                    break;
                }
                int j = i;
                while (j < length && !isSpace(s.codePointAt(j))) {
                    j += Character.charCount(s.codePointAt(j));
                }
                parts.add(s.substring(i, j));
                i = j;
            }
            return new PyList(parts);
        }
        if (sep.isEmpty()) {
            throw new ELException("empty separator");
        }
        int from = 0;
        int at;
        while ((maxsplit < 0 || parts.size() < maxsplit) && (at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return new PyList(parts);
    }

    /** {@code chars} null strips whitespace, as Python's {@code None} does. */
    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.codePointAt(i), chars)) {
            i += Character.charCount(s.codePointAt(i));
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int end = s.length();
        while (end > 0 && strips(s.codePointBefore(end), chars)) {
            end -= Character.charCount(s.codePointBefore(end));
        }
        return s.substring(0, end);
    }

    private static boolean strips(int codePoint, String chars) {
        return chars == null ? isSpace(codePoint) : chars.indexOf(codePoint) >= 0;
    }

    /** Python's {@code str.isspace} for one character. */
    private static boolean isSpace(int codePoint) {
        return Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint) || codePoint == 0x85;
    }

    /** Python's {@code str.title}: a cased character after an uncased one starts a word. */
    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
            int c = s.codePointAt(i);
            int mapped = previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c);
            out.appendCodePoint(mapped);
            previousCased = Character.isUpperCase(mapped) || Character.isLowerCase(mapped) || Character.isTitleCase(mapped);
        }
        return out.toString();
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        int done = 0;
        if (old.isEmpty()) { // Python inserts the replacement before every character and at the end
            Iterator<Integer> codePoints = s.codePoints().iterator();
            while (done < count && (done == 0 || codePoints.hasNext())) {
                out.append(replacement);
                if (codePoints.hasNext()) {
                    out.appendCodePoint(codePoints.next());
                }
                done++;
            }
            codePoints.forEachRemaining(out::appendCodePoint);
            return out.toString();
        }
        int at;
        while (done < count && (at = s.indexOf(old, from)) >= 0) {
            out.append(s, from, at).append(replacement);
            from = at + old.length();
            done++;
        }
        return out.append(s.substring(from)).toString();
    }

    private static String chars(Object[] args) {
        return args.length == 0 || args[0] == null ? null : text(args[0], "chars");
    }

    private static String text(Object arg, String parameter) {
        if (arg == null || arg instanceof CharSequence) {
            return arg == null ? null : arg.toString();
        }
        throw new ELException(parameter + " must be a string, got " + arg);
    }

    private static int count(Object arg, String parameter) {
        if (arg instanceof Long || arg instanceof Integer) {
            return ((Number) arg).intValue();
        }
        throw new ELException(parameter + " must be an integer, got " + arg);
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // strings are immutable: nothing to set, and jinjava's resolvers report it
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return base instanceof String ? Object.class : null;
    }
}
