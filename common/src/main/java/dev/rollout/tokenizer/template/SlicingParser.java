package dev.rollout.tokenizer.template;

import static jinjava.de.odysseus.el.tree.impl.Builder.Feature.METHOD_INVOCATIONS;
import static jinjava.de.odysseus.el.tree.impl.Builder.Feature.NULL_PROPERTIES;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.COLON;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.COMMA;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.DOT;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.EXTENSION;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.IDENTIFIER;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.LBRACK;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.LPAREN;
import static jinjava.de.odysseus.el.tree.impl.Scanner.Symbol.RBRACK;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import java.util.ArrayList;
import java.util.List;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;

/**
 * jinjava's expression parser with Python's subscripts: {@code x[i]}, {@code x[start:stop]} and
 * {@code x[start:stop:step]} (any part may be left out, as in {@code messages[::-1]}), evaluated by {@link AstSlice}
 * with Python's rules. jinjava's own parser knows no step and clamps negative bounds differently.
 *
 * <p>Keyword arguments take a whole expression as their value, as in Python: jinjava parses {@code =} as an operator
 * binding tighter than {@code +}, which makes {@code namespace(last=messages|length - 1)} subtract from the argument.
 *
 * <p>The postfix chain (attributes, method calls, subscripts) is parsed here, right after the primary expression,
 * so jinjava's {@code value()} finds nothing left to take and goes on to filters and tests exactly as it would.
 */
final class SlicingParser extends ExtendedParser {
    SlicingParser(jinjava.de.odysseus.el.tree.impl.Builder context, String input) {
        super(context, input);
    }

    /** Builds trees with this parser; the features are those jinjava's default expression factory enables. */
    static final class Builder extends ExtendedSyntaxBuilder {
        private static final long serialVersionUID = 1L;

        Builder() {
            super(Feature.METHOD_INVOCATIONS, Feature.VARARGS);
        }

        @Override
        protected Parser createParser(String expression) {
            return new SlicingParser(this, expression);
        }
    }

    @Override
    protected AstNode nonliteral() throws ScanException, ParseException {
        AstNode primary = super.nonliteral();
        return primary == null ? null : postfix(primary, true);
    }

    @Override
    protected AstNode literal() throws ScanException, ParseException {
        AstNode primary = super.literal();
        return primary == null ? null : postfix(primary, false);
    }

    /** Arguments, each {@code expression} or {@code name=expression}; also the items of list literals. */
    @Override
    protected AstParameters params(Symbol left, Symbol right) throws ScanException, ParseException {
        consumeToken(left);
        List<AstNode> arguments = new ArrayList<>();
        if (getToken().getSymbol() != right) {
            arguments.add(argument());
            while (getToken().getSymbol() == COMMA) {
                consumeToken();
                arguments.add(argument());
            }
        }
        consumeToken(right);
        return createAstParameters(arguments);
    }

    private AstNode argument() throws ScanException, ParseException {
        if (getToken().getSymbol() == IDENTIFIER && lookahead(0).getSymbol() == EXTENSION && "=".equals(lookahead(0).getImage())) {
            String name = consumeToken().getImage();
            consumeToken();
            return new AstNamedParameter(identifier(name), expr(true));
        }
        return expr(true);
    }

    private AstNode postfix(AstNode primary, boolean lvalue) throws ScanException, ParseException {
        AstNode v = primary;
        while (true) {
            if (getToken().getSymbol() == DOT) {
                consumeToken();
                AstDot dot = createAstDot(v, consumeToken(IDENTIFIER).getImage(), lvalue);
                v = getToken().getSymbol() == LPAREN && context.isEnabled(METHOD_INVOCATIONS)
                        ? createAstMethod(dot, params())
                        : dot;
            } else if (getToken().getSymbol() == LBRACK) {
                consumeToken();
                v = subscript(v, lvalue);
            } else {
                return v;
            }
        }
    }

    /** After the opening bracket: an index, or a slice with up to two colons. */
    private AstNode subscript(AstNode base, boolean lvalue) throws ScanException, ParseException {
        AstNode start = expr(false);
        if (!isColon()) {
            if (start == null) {
                fail("an index or a slice");
            }
            consumeToken(RBRACK);
            AstBracket bracket = createAstBracket(base, start, lvalue, !context.isEnabled(NULL_PROPERTIES));
            return getToken().getSymbol() == LPAREN && context.isEnabled(METHOD_INVOCATIONS)
                    ? createAstMethod(bracket, params())
                    : bracket;
        }
        consumeToken();
        AstNode stop = expr(false);
        AstNode step = null;
        if (isColon()) {
            consumeToken();
            step = expr(false);
        }
        consumeToken(RBRACK);
        return new AstSlice(base, start, stop, step);
    }

    /** The colon of a slice; jinjava scans the {@code else} of a conditional expression as a colon too. */
    private boolean isColon() {
        return getToken().getSymbol() == COLON && ":".equals(getToken().getImage());
    }
}
