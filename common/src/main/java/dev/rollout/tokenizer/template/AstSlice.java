package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.objects.collections.PyList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;

/**
 * {@code base[start:stop:step]} with Python's semantics: absent or {@code none} bounds take their defaults, negative
 * bounds count from the end, bounds beyond the ends are clamped, a negative step walks backwards. Lists give lists,
 * strings give strings (sliced by code point, as Python does).
 */
final class AstSlice extends AstRightValue {
    private final AstNode base;
    private final AstNode start;
    private final AstNode stop;
    private final AstNode step;

    /** {@code start}, {@code stop} and {@code step} are null where the template leaves them out. */
    AstSlice(AstNode base, AstNode start, AstNode stop, AstNode step) {
        this.base = base;
        this.start = start;
        this.stop = stop;
        this.step = step;
    }

    @Override
    public Object eval(Bindings bindings, ELContext context) {
        Object sequence = base.eval(bindings, context);
        Integer from = bound(start, bindings, context);
        Integer to = bound(stop, bindings, context);
        Integer by = bound(step, bindings, context);
        return slice(sequence, from, to, by == null ? 1 : by);
    }

    /** Python's {@code sequence[start:stop:step]}; null bounds are Python's {@code None}. */
    static Object slice(Object sequence, Integer start, Integer stop, int step) {
        if (step == 0) {
            throw new ELException("slice step cannot be zero");
        }
        if (sequence instanceof CharSequence text) {
            int[] codePoints = text.toString().codePoints().toArray();
            StringBuilder out = new StringBuilder();
            for (int i : indices(codePoints.length, start, stop, step)) {
                out.appendCodePoint(codePoints[i]);
            }
            return out.toString();
        }
        List<?> items;
        if (sequence instanceof List<?> list) {
            items = list;
        } else if (sequence instanceof Object[] array) {
            items = Arrays.asList(array);
        } else if (sequence instanceof Iterable<?> iterable) {
            List<Object> copy = new ArrayList<>();
            iterable.forEach(copy::add);
            items = copy;
        } else {
            throw new ELException("cannot slice " + (sequence == null ? "an undefined value" : "a " + sequence.getClass().getSimpleName()));
        }
        List<Object> out = new ArrayList<>();
        for (int i : indices(items.size(), start, stop, step)) {
            out.add(items.get(i));
        }
        return new PyList(out);
    }

    /** The indices {@code range(*slice(start, stop, step).indices(length))} visits. */
    private static int[] indices(int length, Integer start, Integer stop, int step) {
        int first = clamp(start, length, step, step > 0 ? 0 : length - 1);
        int end = clamp(stop, length, step, step > 0 ? length : -1);
        int count = step > 0 ? Math.max(0, (end - first + step - 1) / step) : Math.max(0, (first - end - step - 1) / -step);
        int[] out = new int[count];
        for (int k = 0; k < count; k++) {
            out[k] = first + k * step;
        }
        return out;
    }

    private static int clamp(Integer bound, int length, int step, int absent) {
        if (bound == null) {
            return absent;
        }
        int b = bound < 0 ? bound + length : bound;
        if (b < 0) {
            return step > 0 ? 0 : -1;
        }
        if (b >= length) {
            return step > 0 ? length : length - 1;
        }
        return b;
    }

    private static Integer bound(AstNode node, Bindings bindings, ELContext context) {
        if (node == null) {
            return null;
        }
        Object value = node.eval(bindings, context);
        if (value == null) {
            return null;
        }
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).intValue();
        }
        throw new ELException("slice indices must be integers or none, got " + value);
    }

    @Override
    public void appendStructure(StringBuilder b, Bindings bindings) {
        base.appendStructure(b, bindings);
        b.append('[');
        appendBound(b, start, bindings);
        b.append(':');
        appendBound(b, stop, bindings);
        b.append(':');
        appendBound(b, step, bindings);
        b.append(']');
    }

    private static void appendBound(StringBuilder b, AstNode node, Bindings bindings) {
        if (node != null) {
            node.appendStructure(b, bindings);
        }
    }

    @Override
    public int getCardinality() {
        return 4;
    }

    @Override
    public AstNode getChild(int i) {
        return switch (i) {
            case 0 -> base;
            case 1 -> start;
            case 2 -> stop;
            case 3 -> step;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return "[::]";
    }
}
