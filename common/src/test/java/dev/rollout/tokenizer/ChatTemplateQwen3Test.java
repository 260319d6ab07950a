package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.tokenizer.template.ChatTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official Qwen3 chat template (tokenizer_config.json of the Qwen3 models, in qwen3_chat_template.jinja) renders
 * exactly as transformers renders it. Each expected string is Jinja2 3.1's rendering of the same conversation:
 * {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with transformers' {@code tojson}
 * ({@code json.dumps(x, ensure_ascii=False)}) and {@code raise_exception}, variables {@code messages},
 * {@code add_generation_prompt}, {@code eos_token}, {@code pad_token} and the extra keyword arguments shown.
 */
class ChatTemplateQwen3Test {
    private static final Map<String, String> TOKENS = Map.of("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>");

    private static ChatTemplate qwen3;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = ChatTemplateQwen3Test.class.getResourceAsStream("qwen3_chat_template.jinja")) {
            qwen3 = new ChatTemplate(new String(in.readAllBytes(), StandardCharsets.UTF_8), TOKENS);
        }
    }

    private static Map<String, Object> message(String role, String content) {
        return Map.of("role", role, "content", content);
    }

    @Test
    void systemAndUserEndWithTheAssistantPrompt() {
        String text = qwen3.render(List.of(message("system", "You are terse."), message("user", "What is 2+2?")), true, Map.of());
        assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n", text);
    }

    @Test
    void thinkingIsDroppedFromEarlierTurnsAndKeptInTheLastOne() {
        String text = qwen3.render(List.of(
                message("user", "Hi"),
                message("assistant", "<think>\nGreet back.\n</think>\n\nHello!"),
                message("user", "2+2?"),
                message("assistant", "<think>\nAdd them.\n</think>\n\n4")), false, Map.of());
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n4<|im_end|>\n", text);
    }

    @Test
    void enableThinkingFalseOpensAnEmptyThinkBlock() {
        String text = qwen3.render(List.of(message("user", "What is 2+2?")), true, Map.of("enable_thinking", false));
        assertEquals("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", text);
    }

    @Test
    void aToolResponseInAUserTurnDoesNotCountAsTheLastQuery() {
        Map<String, Object> weather = Map.of("type", "function", "function", orderedMap(
                "name", "get_weather",
                "description", "Current weather in a city",
                "parameters", orderedMap(
                        "type", "object",
                        "properties", Map.of("city", Map.of("type", "string")),
                        "required", List.of("city"))));
        Map<String, Object> call = Map.of("role", "assistant", "content", "", "tool_calls", List.of(Map.of(
                "type", "function",
                "function", Map.of("name", "get_weather", "arguments", orderedMap("city", "Zürich", "unit", "°C")))));
        String text = qwen3.render(List.of(
                message("user", "Weather in Zürich?"),
                call,
                message("user", "<tool_response>\n{\"temp\": 21}\n</tool_response>"),
                message("assistant", "<think>\nRead the tool output.\n</think>\n\nIt is 21 °C.")), false,
                Map.of("tools", List.of(orderedMap("type", "function", "function", weather.get("function")))));
        assertEquals("<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Current weather in a city\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n"
                + "</tools>\n\nFor each function call, return a json object with function name and arguments within "
                + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
                + "</tool_call><|im_end|>\n"
                + "<|im_start|>user\nWeather in Zürich?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"unit\": \"°C\"}}\n"
                + "</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nRead the tool output.\n</think>\n\nIt is 21 °C.<|im_end|>\n", text);
    }

    @Test
    void consecutiveToolTurnsShareOneUserTurn() {
        Map<String, Object> call = Map.of("role", "assistant", "content", "Checking.", "tool_calls", List.of(Map.of(
                "function", Map.of("name", "get_weather", "arguments", "{\"city\": \"Paris\"}"))));
        String text = qwen3.render(List.of(message("user", "Weather?"), call, message("tool", "18"), message("tool", "sunny")),
                true, Map.of());
        assertEquals("<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\nChecking.\n<tool_call>\n"
                + "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n18\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n", text);
    }

    /** Keys in the given order, as Python dicts keep them (tojson writes them in that order). */
    private static Map<String, Object> orderedMap(Object... keysAndValues) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
