package dev.rollout.trainer.reward;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds numbers written in text, the way math answers are written: "-3", "1,250", "0.5". */
final class NumberExtraction {
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:,\\d{3})*(?:\\.\\d+)?");

    private NumberExtraction() {
    }

    /** The last number in the text, or null when there is none. */
    static BigDecimal lastNumber(String text) {
        Matcher matcher = NUMBER.matcher(text);
        String last = null;
        while (matcher.find()) {
            last = matcher.group();
        }
        return last == null ? null : new BigDecimal(last.replace(",", ""));
    }
}
