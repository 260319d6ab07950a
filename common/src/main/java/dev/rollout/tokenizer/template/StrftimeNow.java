package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import java.time.Clock;
import java.time.LocalDateTime;

/**
 * transformers' template global {@code strftime_now(format)}: {@code datetime.now().strftime(format)}, the local
 * time of the template's clock. Llama 3.2 templates write today's date with it ({@code strftime_now("%d %b %Y")})
 * after testing {@code strftime_now is defined}.
 *
 * <p>The template needs both a variable, for that test, and a function, for the call; jinjava functions are static
 * methods, so the variable is this object, holding the clock, and the function {@link #call} finds it there.
 */
final class StrftimeNow {
    static final String NAME = "strftime_now";

    private final Clock clock;

    StrftimeNow(Clock clock) {
        this.clock = clock;
    }

    String format(String format) {
        return PythonStrftime.format(LocalDateTime.now(clock), format);
    }

    /** The template's {@code strftime_now(format)}; public only because jinjava calls it reflectively. */
    public static String call(String format) {
        Object global = JinjavaInterpreter.getCurrent().getContext().get(NAME);
        if (!(global instanceof StrftimeNow now)) {
            throw new IllegalStateException("strftime_now was redefined by the template and can no longer be called");
        }
        return now.format(format);
    }
}
