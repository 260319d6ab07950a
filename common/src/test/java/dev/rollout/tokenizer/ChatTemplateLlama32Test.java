package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tokenizer.template.ChatTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official Llama 3.2 Instruct chat template (tokenizer_config.json of Llama-3.2-1B/3B-Instruct, in
 * llama32_chat_template.jinja), which dates the system prompt with transformers' {@code strftime_now("%d %b %Y")}.
 * Each expected string is Jinja2 3.1's rendering of the same conversation: {@code ImmutableSandboxedEnvironment(
 * trim_blocks=True, lstrip_blocks=True)} with transformers' {@code tojson} and {@code raise_exception}, and
 * {@code strftime_now} formatting the instant of the test's clock, 2025-03-07 14:05:09.
 */
class ChatTemplateLlama32Test {
    private static final Map<String, String> TOKENS = Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>");
    private static final Clock MARCH_7_2025 = Clock.fixed(Instant.parse("2025-03-07T14:05:09Z"), ZoneOffset.UTC);
    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "You are terse."), new ChatMessage("user", "What is 2+2?"));

    private static String source;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = ChatTemplateLlama32Test.class.getResourceAsStream("llama32_chat_template.jinja")) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void systemPromptIsDatedWithTodayFromTheClock() {
        String text = new ChatTemplate(source, TOKENS, MARCH_7_2025).render(CONVERSATION, true);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 07 Mar 2025\n\n"
                + "You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                + "What is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    @Test
    void todayIsTheDateInTheClocksZone() {
        Clock lateEveningUtc = Clock.fixed(Instant.parse("2025-03-07T23:30:00Z"), ZoneId.of("+05:00"));
        String text = new ChatTemplate(source, TOKENS, lateEveningUtc).render(CONVERSATION, true);
        assertTrue(text.contains("\nToday Date: 08 Mar 2025\n"), text);
    }

    @Test
    void aDateStringPassedByTheCallerWinsOverTheClock() {
        String text = new ChatTemplate(source, TOKENS, MARCH_7_2025).render(List.of(
                Map.of("role", "system", "content", "You are terse."),
                Map.of("role", "user", "content", "What is 2+2?")), true, Map.of("date_string", "01 Jan 2000"));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2000\n\n"
                + "You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                + "What is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }
}
