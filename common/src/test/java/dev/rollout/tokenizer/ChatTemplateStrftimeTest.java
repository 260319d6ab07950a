package dev.rollout.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.tokenizer.template.ChatTemplate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * transformers' {@code strftime_now(format)} global against Python's {@code datetime.strftime}: each expected string
 * is what Jinja2 renders with {@code strftime_now} returning {@code datetime(...).strftime(format)} for the same
 * local time.
 */
class ChatTemplateStrftimeTest {
    private static final String ALL_DIRECTIVES = "{{ strftime_now(\"%d %m %Y %y %b %B %a %A %H %M %S %I %p %j %%\") }}";

    private static String render(String template, String instant) {
        Clock clock = Clock.fixed(Instant.parse(instant), ZoneOffset.UTC);
        return new ChatTemplate(template, Map.of(), clock).render(List.of(), false, Map.of());
    }

    @Test
    void everySupportedDirectiveOnAnAfternoon() {
        assertEquals("07 03 2025 25 Mar March Fri Friday 14 05 09 02 PM 066 %", render(ALL_DIRECTIVES, "2025-03-07T14:05:09Z"));
    }

    @Test
    void midnightIsTwelveAmAndTheLastDayOfALeapYearIs366() {
        assertEquals("31 12 2024 24 Dec December Tue Tuesday 00 07 03 12 AM 366 %", render(ALL_DIRECTIVES, "2024-12-31T00:07:03Z"));
    }

    @Test
    void strftimeNowIsDefinedForTemplatesThatTestForIt() {
        assertEquals("07 Mar 2025", render("{% if strftime_now is defined %}{{ strftime_now('%d %b %Y') }}"
                + "{% else %}26 Jul 2024{% endif %}", "2025-03-07T14:05:09Z"));
    }

    @Test
    void anUnsupportedDirectiveIsAnErrorNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> render("{{ strftime_now('%Y-%U') }}", "2025-03-07T14:05:09Z"));
        assertTrue(e.getMessage().contains("%U"), e.getMessage());
    }
}
