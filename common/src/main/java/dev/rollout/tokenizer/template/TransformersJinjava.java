package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * jinjava set up to read chat templates as transformers' Jinja2 environment does: {@code trim_blocks} on, the Python
 * {@code str} methods templates call ({@link PythonStringMethods}), Python subscripts and slices ({@link SlicingParser}),
 * transformers' {@code tojson} ({@link PythonToJson}), and values printed as Python prints them
 * ({@link PythonPrintingInterpreter}).
 *
 * <p>The slicing parser comes in through {@link #getExpressionFactory()}, which jinjava's interpreter asks for the
 * factory that parses every expression; the string methods through the configured EL resolver, consulted before
 * jinjava's own (which would call Java's {@code String} methods).
 */
final class TransformersJinjava extends Jinjava {
    /** As many parsed expressions as jinjava's default factory keeps. */
    private static final int EXPRESSION_CACHE_SIZE = 1000;

    private final ExpressionFactory expressionFactory = new ExpressionFactoryImpl(
            new TreeStore(new SlicingParser.Builder(), new Cache(EXPRESSION_CACHE_SIZE)), new TruthyTypeConverter());

    TransformersJinjava() {
        super(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                // lstrip_blocks is applied to the source by ChatTemplate: jinjava's strips more than Jinja2's
                // jinjava would otherwise render "{{ ... }}" found inside message contents: user text is data, not template
                .withNestedInterpretationEnabled(false)
                // {{ x }} prints Python's str(x): True, None, ['a', 'b'] (jinjava's name for the option is misspelt)
                .withInterperterFactory(PythonPrintingInterpreter.FACTORY)
                // without it jinjava ignores the dash of a comment's {#- and -#} (Llama 3.2's "{#- System message #}")
                .withLegacyOverrides(LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true).build())
                .withElResolver(new CompositeELResolver() {
                    {
                        add(new PythonStringMethods());
                        add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
                    }
                })
                .build());
        getGlobalContext().registerFilter(new PythonToJson());
    }

    @Override
    public ExpressionFactory getExpressionFactory() {
        return expressionFactory;
    }
}
