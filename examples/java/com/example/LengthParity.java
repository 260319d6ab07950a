package com.example;

import dev.rollout.trainer.reward.RewardFunction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;

/**
 * An example reward written in Java: 1.0 when the completion has an even number of tokens (or an odd one, with
 * {@code parity: odd}), else 0.0. Build it against the trainer's jar and name it in the config:
 *
 * <pre>
 * reward_funcs: [accuracy, com.example.LengthParity]
 * reward_kwargs:
 *   com.example.LengthParity: {parity: odd, log: runs/length-parity.jsonl}
 * </pre>
 *
 * With {@code log}, it appends one JSON line per completion with what it was given, which is handy while writing a
 * reward.
 */
public final class LengthParity implements RewardFunction {
    private final int remainder;
    private final Path log;

    /** The trainer passes the entry's {@code reward_kwargs}; an empty map when the config gives none. */
    public LengthParity(Map<String, Object> kwargs) {
        Object parity = kwargs.getOrDefault("parity", "even");
        if (!parity.equals("even") && !parity.equals("odd")) {
            throw new IllegalArgumentException("parity must be even or odd, got " + parity);
        }
        this.remainder = parity.equals("even") ? 0 : 1;
        this.log = kwargs.containsKey("log") ? Path.of(kwargs.get("log").toString()) : null;
    }

    @Override
    public Double score(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
        if (log != null) {
            String line = "{\"prompt\": " + quote(prompt) + ", \"completion\": " + quote(completion)
                    + ", \"completion_ids\": " + Arrays.toString(completionIds) + ", \"row\": " + quote(row.toString()) + "}\n";
            try {
                Files.writeString(log, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + log, e);
            }
        }
        return completionIds.length % 2 == remainder ? 1.0 : 0.0;
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }
}
