package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.tokenizer.template.ChatTemplate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Chat templates as Hugging Face renders them (Jinja2 with trim_blocks and lstrip_blocks). The expected strings are
 * derived by hand from the templates and Jinja2's whitespace rules; Qwen3's template and the Python constructs are
 * checked against Jinja2's own renderings in ChatTemplateQwen3Test and ChatTemplatePythonTest.
 */
class ChatTemplateTest {
    /** Qwen2.5-Instruct's template (tool branches included, not exercised). */
    static final String QWEN25 = """
            {%- if tools %}
                {{- '<|im_start|>system\\n' }}
                {%- if messages[0]['role'] == 'system' %}
                    {{- messages[0]['content'] }}
                {%- else %}
                    {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
                {%- endif %}
                {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
                {%- for tool in tools %}
                    {{- "\\n" }}
                    {{- tool | tojson }}
                {%- endfor %}
                {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
            {%- else %}
                {%- if messages[0]['role'] == 'system' %}
                    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
                {%- else %}
                    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
                {%- endif %}
            {%- endif %}
            {%- for message in messages %}
                {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
                {%- elif message.role == "assistant" %}
                    {{- '<|im_start|>' + message.role }}
                    {%- if message.content %}
                        {{- '\\n' + message.content }}
                    {%- endif %}
                    {%- for tool_call in message.tool_calls %}
                        {%- if tool_call.function is defined %}
                            {%- set tool_call = tool_call.function %}
                        {%- endif %}
                        {{- '\\n<tool_call>\\n{"name": "' }}
                        {{- tool_call.name }}
                        {{- '", "arguments": ' }}
                        {{- tool_call.arguments | tojson }}
                        {{- '}\\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\\n' }}
                {%- elif message.role == "tool" %}
                    {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                        {{- '<|im_start|>user' }}
                    {%- endif %}
                    {{- '\\n<tool_response>\\n' }}
                    {{- message.content }}
                    {{- '\\n</tool_response>' }}
                    {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                        {{- '<|im_end|>\\n' }}
                    {%- endif %}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    /** Meta-Llama-3-Instruct's template: note that {@code | trim} binds to the content only, not the concatenation. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
            + " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    /** Block tags on their own lines, indented: trim_blocks and lstrip_blocks make them vanish without a trace. */
    static final String BLOCKS_ON_OWN_LINES = """
            {% for message in messages %}
                {% if message['role'] == 'user' %}
            Q: {{ message['content'] }}
                {% else %}
            A: {{ message['content'] }}
                {% endif %}
            {% endfor %}
            {% if add_generation_prompt %}
            A:{% endif %}
            """;

    static final String ALTERNATION = "{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{{ message['role'] + ': ' + message['content'] + eos_token }}{% endfor %}";

    private static final Map<String, String> QWEN_TOKENS = Map.of("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>");
    private static final Map<String, String> LLAMA3_TOKENS = Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>");

    @Test
    void qwenTemplateAddsTheDefaultSystemPromptAndTheGenerationPrompt() {
        String text = new ChatTemplate(QWEN25, QWEN_TOKENS).render(List.of(new ChatMessage("user", "What is 2+2?")), true);
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n", text);
    }

    @Test
    void qwenTemplateKeepsAGivenSystemPromptAndAssistantTurns() {
        String text = new ChatTemplate(QWEN25, QWEN_TOKENS).render(List.of(
                new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello!")), false);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n", text);
    }

    @Test
    void llama3TemplateStartsWithBosAndTrimsEachContent() {
        String text = new ChatTemplate(LLAMA3, LLAMA3_TOKENS).render(List.of(
                new ChatMessage("system", "You are terse."),
                new ChatMessage("user", "  Hi!  \n")), true);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    @Test
    void blockTagsOnTheirOwnLinesLeaveNoWhitespace() {
        String text = new ChatTemplate(BLOCKS_ON_OWN_LINES, Map.of()).render(List.of(
                new ChatMessage("user", "1+1"),
                new ChatMessage("assistant", "2"),
                new ChatMessage("user", "2+2")), true);
        // the template's final newline is dropped, as Jinja2 does (keep_trailing_newline=False)
        assertEquals("Q: 1+1\nA: 2\nQ: 2+2\nA:", text);
    }

    @Test
    void withoutGenerationPromptTheTextEndsAfterTheLastTurn() {
        String text = new ChatTemplate(BLOCKS_ON_OWN_LINES, Map.of())
                .render(List.of(new ChatMessage("user", "x")), false);
        assertEquals("Q: x\n", text);
    }

    @Test
    void templateSyntaxInMessagesIsNotInterpreted() {
        String text = new ChatTemplate(QWEN25, QWEN_TOKENS).render(List.of(
                new ChatMessage("system", "s"),
                new ChatMessage("user", "{{ 7*7 }} {% if true %}x{% endif %}")), false);
        assertEquals("<|im_start|>system\ns<|im_end|>\n<|im_start|>user\n{{ 7*7 }} {% if true %}x{% endif %}<|im_end|>\n", text);
    }

    @Test
    void raiseExceptionInTheTemplateBecomesAClearError() {
        ChatTemplate template = new ChatTemplate(ALTERNATION, Map.of("eos_token", "</s>"));
        assertEquals("user: a</s>assistant: b</s>",
                template.render(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "b")), false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> template.render(List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b")), false));
        assertEquals("the chat template refused the conversation: "
                + "Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    @Test
    void unsupportedExpressionIsReportedNotRenderedWrongly() {
        // str.format is not provided; Java's String.format must not stand in for it
        ChatTemplate template = new ChatTemplate("{{ '{} says hi'.format(messages[0]['content']) }}", Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> template.render(List.of(new ChatMessage("user", "xy")), false));
        assertEquals(true, e.getMessage().startsWith("the chat template failed to render: line 1: "), e.getMessage());
        assertEquals(true, e.getMessage().contains("str.format with 1 argument(s) is not supported"), e.getMessage());
    }
}
