package dev.rollout.tokenizer.template;

import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.rollout.tokenizer.ChatMessage;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A Hugging Face chat template ({@code chat_template} in {@code tokenizer_config.json}) rendered with jinjava the way
 * transformers renders it with Jinja2: {@code trim_blocks} and {@code lstrip_blocks} on, one trailing newline of the
 * template dropped ({@code keep_trailing_newline=False}), variables {@code messages}, {@code add_generation_prompt} and
 * the special tokens ({@code bos_token}, {@code eos_token}, ...), transformers' globals {@code raise_exception(message)}
 * and {@code strftime_now(format)} (Python's strftime of the current local time, from an injectable clock), and what
 * {@link TransformersJinjava} adds to jinjava: the Python {@code str} methods templates call ({@code startswith},
 * {@code endswith}, {@code split}, {@code strip}/{@code lstrip}/{@code rstrip}, {@code upper}, {@code lower},
 * {@code title}, {@code replace}), Python slices ({@code messages[::-1]}, {@code x[1:]}, {@code x[-1]}),
 * transformers' {@code tojson}, and {@code {{ x }}} printed as Python's {@code str(x)} ({@code True}, {@code None} in
 * lists, {@code ['a', "it's"]}). The tests hold the Qwen2.5, Qwen3, Meta-Llama-3 and Llama 3.2 templates to
 * transformers' renderings.
 *
 * <p>Known gaps against Jinja2: other {@code str} methods ({@code format}, {@code join}, {@code find}, {@code isdigit},
 * ...) and keyword arguments to the supported ones fail with an error naming the method; jinjava does not tell
 * {@code none} from undefined, so a None printed on its own ({@code {{ none }}}, a message field holding None) prints
 * as nothing where Jinja2 prints {@code None} (inside a printed list or dict it is {@code None}); booleans joined as
 * text ({@code 'x' ~ true}, {@code true|string}, {@code join}) still read {@code true}/{@code false}; jinjava drops
 * the spaces beside a comment without dashes ({@code "b {# c #} d"} renders {@code "bd"}, Jinja2 {@code "b  d"});
 * {@code strftime_now} knows the directives {@code %d %m %Y %y %b %B %a %A %H %M %S %I %p %j %%} and refuses others.
 */
public final class ChatTemplate {
    /** Matches {@code {{-} with the whitespace before it, and {@code -}}} with the whitespace after it. */
    private static final Pattern EXPRESSION_LEFT_TRIM = Pattern.compile("\\s*\\{\\{-");
    private static final Pattern EXPRESSION_RIGHT_TRIM = Pattern.compile("-\\}\\}\\s*");
    /** Spaces and tabs from the start of a line up to a block tag or comment, which lstrip_blocks removes. */
    private static final Pattern LINE_INDENT_BEFORE_BLOCK = Pattern.compile("(?m)^[ \\t]+(?=\\{%(?!\\+)|\\{#)");

    private final String source;
    private final String jinjaSource;
    private final Map<String, String> specialTokens;
    private final TransformersJinjava jinjava;

    /**
     * @param source the template text
     * @param specialTokens template variables such as {@code bos_token}, {@code eos_token}; tokens the tokenizer lacks
     *     are simply absent (undefined in the template, as in transformers)
     */
    public ChatTemplate(String source, Map<String, String> specialTokens) {
        this(source, specialTokens, Clock.systemDefaultZone());
    }

    /**
     * @param clock the time {@code strftime_now} formats, in the clock's zone; transformers uses the local time
     */
    public ChatTemplate(String source, Map<String, String> specialTokens, Clock clock) {
        this.source = source;
        this.jinjaSource = applyExpressionWhitespaceControl(lstripBlocks(stripOneTrailingNewline(source)));
        this.specialTokens = Map.copyOf(specialTokens);
        this.jinjava = new TransformersJinjava();
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", StrftimeNow.NAME, StrftimeNow.class, "call", String.class));
        jinjava.getGlobalContext().put(StrftimeNow.NAME, new StrftimeNow(clock));
    }

    public String source() {
        return source;
    }

    /** Renders the conversation; with {@code addGenerationPrompt} the text ends where the assistant's reply begins. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> plain = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            plain.add(map);
        }
        return render(plain, addGenerationPrompt, Map.of());
    }

    /**
     * Renders messages given as maps (so templates may read fields beyond role and content), with extra variables
     * passed as transformers passes {@code apply_chat_template}'s keyword arguments.
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        context.putAll(extra);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = jinjava.renderForResult(jinjaSource, context);
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .toList();
        for (TemplateError e : fatal) {
            for (Throwable t = e.getException(); t != null; t = t.getCause()) {
                if (t instanceof RaisedByTemplate raised) {
                    throw new IllegalArgumentException("the chat template refused the conversation: " + raised.getMessage());
                }
            }
        }
        if (!fatal.isEmpty()) {
            throw new IllegalArgumentException("the chat template failed to render: " + fatal.stream()
                    .map(e -> "line " + e.getLineno() + ": " + e.getMessage()
                            + (e.getFieldName() == null || e.getFieldName().isEmpty() ? "" : " (in '" + e.getFieldName() + "')"))
                    .collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    /** The template's {@code raise_exception}; public only because jinjava calls it reflectively. */
    public static Object raiseException(Object message) {
        throw new RaisedByTemplate(String.valueOf(message));
    }

    private static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Jinja2's {@code {{-} and {@code -}}} remove all whitespace before or after the expression; jinjava honours the
     * dash only on block tags ({@code {%-}), so the whitespace is removed here, before parsing.
     */
    private static String applyExpressionWhitespaceControl(String s) {
        String left = EXPRESSION_LEFT_TRIM.matcher(s).replaceAll("{{");
        return EXPRESSION_RIGHT_TRIM.matcher(left).replaceAll("}}");
    }

    /**
     * Jinja2's {@code lstrip_blocks}: the whitespace before a block tag goes only where nothing else precedes the tag on
     * its line. jinjava's own option strips it wherever it is ({@code "{{ x }} {% endfor %}"} would lose its space).
     */
    private static String lstripBlocks(String s) {
        return LINE_INDENT_BEFORE_BLOCK.matcher(s).replaceAll("");
    }

    private static String stripOneTrailingNewline(String s) {
        if (s.endsWith("\r\n")) {
            return s.substring(0, s.length() - 2);
        }
        if (s.endsWith("\n") || s.endsWith("\r")) {
            return s.substring(0, s.length() - 1);
        }
        return s;
    }
}
