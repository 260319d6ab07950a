package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;

/**
 * A jinjava interpreter that prints {@code {{ x }}} as Jinja2 does, with Python's {@code str(x)} ({@link PythonStr}).
 * jinjava turns every printed value into text through {@link #getAsString}; its own version prints Java's or
 * JSON's spelling. Comparisons and {@code if} tests never go through it, nor does {@code tojson}.
 */
final class PythonPrintingInterpreter extends JinjavaInterpreter {
    /** Hands jinjava this interpreter for each render and for the child interpreters of macros and includes. */
    static final InterpreterFactory FACTORY = new InterpreterFactory() {
        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
            return new PythonPrintingInterpreter(orig);
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig renderConfig) {
            return new PythonPrintingInterpreter(application, context, renderConfig);
        }
    };

    private PythonPrintingInterpreter(JinjavaInterpreter orig) {
        super(orig);
    }

    private PythonPrintingInterpreter(Jinjava application, Context context, JinjavaConfig renderConfig) {
        super(application, context, renderConfig);
    }

    @Override
    public String getAsString(Object object) {
        return PythonStr.str(object);
    }
}
