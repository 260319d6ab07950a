package dev.rollout.trainer.reward;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A math answer as math_verify (behind TRL's {@code accuracy_reward}) reads it: taken from a completion's last
 * {@code \boxed{}}, else from LaTeX after "answer" ("The final answer is $\frac{1}{2}$"), else, beyond TRL, from the
 * last number in the text; LaTeX spacing, {@code \left}/{@code \right}, {@code \text{}} units, degrees, percent and
 * dollar signs and thousands separators dropped; numbers, decimals and fractions compared by exact value, anything
 * else as the normalized LaTeX text.
 */
final class MathAnswer {
    private static final String NUM = "[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)";
    private static final Pattern NUMBER = Pattern.compile("^" + NUM + "$");
    private static final Pattern SLASH = Pattern.compile("^(" + NUM + ")/(" + NUM + ")$");
    private static final Pattern FRAC = Pattern.compile("^([+-]?)\\\\frac\\{(" + NUM + ")\\}\\{(" + NUM + ")\\}$");
    private static final Pattern FRAC_SHORT = Pattern.compile("\\\\frac(\\d)(\\d)");
    private static final Pattern NUMBER_THEN_WORDS = Pattern.compile("^(" + NUM + "(?:/" + NUM + ")?)\\s*(?:[A-Za-z]+\\.?\\s*)+$");
    private static final Pattern THOUSANDS = Pattern.compile("(\\d)(?:,|\\{,\\}|\\\\,)(?=\\d{3}(?!\\d))");
    private static final Pattern TEXT_GROUP = Pattern.compile("\\\\(?:text|textbf|textrm|mbox|mathrm)\\{([^{}]*)\\}");
    private static final Pattern SINGLE_BRACED = Pattern.compile("([\\^_])\\{([^{}])\\}");
    /** LaTeX math after the word "answer", as math_verify's anchored patterns take it. */
    private static final Pattern ANSWER_LATEX = Pattern.compile(
            "(?i:answer)[^$\\n]{0,100}?(?:\\$\\$([^$]+)\\$\\$|\\$([^$\\n]+)\\$|\\\\\\((.+?)\\\\\\)|\\\\\\[(.+?)\\\\\\])", Pattern.DOTALL);
    /** Two words in a row: a sentence, not an answer ("Answer is forty two."). */
    private static final Pattern PROSE = Pattern.compile("(?<!\\\\)\\b[A-Za-z]{2,}\\s+[A-Za-z]{2,}\\b");
    private static final Pattern LAST_NUMBER = Pattern.compile("-?\\d+(?:,\\d{3})*(?:\\.\\d+)?(?:/\\d+)?");

    /** An answer: its exact value when it is a number or a fraction, else null; and its normalized text. */
    record Value(BigDecimal numerator, BigDecimal denominator, String text) {
        boolean equivalent(Value other) {
            if (numerator != null && other.numerator != null) {
                return numerator.multiply(other.denominator).compareTo(other.numerator.multiply(denominator)) == 0;
            }
            return text.equals(other.text);
        }
    }

    private MathAnswer() {
    }

    /** The answer a completion gives, or null when it gives none this reader finds. */
    static Value fromCompletion(String completion) {
        String boxed = lastBoxed(completion);
        if (boxed != null) {
            return parse(boxed);
        }
        String anchored = null;
        Matcher m = ANSWER_LATEX.matcher(completion);
        while (m.find()) {
            for (int g = 1; g <= 4; g++) {
                anchored = m.group(g) != null ? m.group(g) : anchored;
            }
        }
        if (anchored != null) {
            return parse(anchored);
        }
        String number = lastMatch(LAST_NUMBER, completion);
        return number == null ? null : parse(number);
    }

    /**
     * The reference answer of a dataset row: a boxed answer, a whole-text answer ("63/400", "\frac{63}{400}", "B"),
     * or the number ending a worked solution ("48 + 24 = 72\n#### 72"); null when there is none (prose without a
     * number), so the completion is not judged, as TRL skips an unparseable solution.
     */
    static Value fromSolution(String solution) {
        String boxed = lastBoxed(solution);
        if (boxed != null) {
            return parse(boxed);
        }
        int hashes = solution.lastIndexOf("####");
        if (hashes >= 0) {
            return parse(solution.substring(hashes + 4)); // GSM8K: the worked solution ends "#### 72"
        }
        Value whole = parse(solution.replace("$", ""));
        if (whole != null && (whole.numerator != null || !PROSE.matcher(solution).find())) {
            return whole;
        }
        String number = lastMatch(LAST_NUMBER, solution);
        return number == null ? null : parse(number);
    }

    /** Normalizes LaTeX and reads a value; null for an empty answer. */
    static Value parse(String latex) {
        String s = normalize(latex);
        int eq = s.lastIndexOf('=');
        if (eq >= 0 && eq < s.length() - 1) {
            s = s.substring(eq + 1).strip(); // "x = 5" answers 5
        }
        Matcher words = NUMBER_THEN_WORDS.matcher(s);
        if (words.matches()) {
            s = words.group(1); // "5 cm", "12 apples": units stripped
        }
        if (s.isEmpty()) {
            return null;
        }
        Matcher frac = FRAC.matcher(s);
        if (frac.matches()) {
            BigDecimal n = new BigDecimal(frac.group(2));
            return ratio(frac.group(1).equals("-") ? n.negate() : n, new BigDecimal(frac.group(3)), s);
        }
        Matcher slash = SLASH.matcher(s);
        if (slash.matches()) {
            return ratio(new BigDecimal(slash.group(1)), new BigDecimal(slash.group(2)), s);
        }
        if (NUMBER.matcher(s).matches()) {
            return new Value(new BigDecimal(s), BigDecimal.ONE, s);
        }
        return new Value(null, null, s.replace(" ", ""));
    }

    private static Value ratio(BigDecimal numerator, BigDecimal denominator, String text) {
        return denominator.signum() == 0 ? new Value(null, null, text) : new Value(numerator, denominator, text);
    }

    static String normalize(String latex) {
        String s = latex.strip();
        Matcher text = TEXT_GROUP.matcher(s);
        String withoutText = text.replaceAll("").strip();
        // a unit in \text{} goes; an answer that is all text ("\text{(B)}") keeps its words
        s = withoutText.isEmpty() ? text.reset().replaceAll("$1") : withoutText;
        s = s.replace("\\left", "").replace("\\right", "").replace("\\displaystyle", "")
                .replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
                .replace("^{\\circ}", "").replace("^\\circ", "").replace("°", "")
                .replace("\\%", "").replace("%", "").replace("\\$", "").replace("$", "")
                .replace("\\!", "").replace("\\;", " ").replace("\\:", " ").replace("~", " ");
        s = THOUSANDS.matcher(s).replaceAll("$1");
        s = s.replace("\\,", " ").replace("\\ ", " ");
        s = FRAC_SHORT.matcher(s).replaceAll("\\\\frac{$1}{$2}");
        s = SINGLE_BRACED.matcher(s).replaceAll("$1$2");
        s = s.replaceAll("\\s+", " ").strip();
        while (s.endsWith(".")) {
            s = s.substring(0, s.length() - 1).strip(); // a sentence's full stop, not a decimal point
        }
        if (s.startsWith("{") && s.endsWith("}") && balanced(s.substring(1, s.length() - 1))) {
            s = s.substring(1, s.length() - 1).strip();
        }
        return s;
    }

    /** The content of the last {@code \boxed{...}} (or {@code \fbox{...}}), braces balanced; null when there is none. */
    static String lastBoxed(String text) {
        int at = Math.max(text.lastIndexOf("\\boxed"), text.lastIndexOf("\\fbox"));
        if (at < 0) {
            return null;
        }
        int open = text.indexOf('{', at);
        if (open < 0) {
            return null;
        }
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (depth == 0) {
                return text.substring(open + 1, i);
            }
        }
        return null; // unclosed: no answer, as math_verify finds none
    }

    private static boolean balanced(String s) {
        int depth = 0;
        for (char c : s.toCharArray()) {
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (depth < 0) {
                return false;
            }
        }
        return depth == 0;
    }

    private static String lastMatch(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return last;
    }
}
