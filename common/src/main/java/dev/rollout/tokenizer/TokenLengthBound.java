package dev.rollout.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The most UTF-8 bytes of input text one token can stand for, read from {@code tokenizer.json}, so that a server can
 * tell a text is too long for the context from its length alone, before spending time tokenizing it.
 *
 * <p>A token covers a piece of the normalized text, and its vocabulary entry holds that piece (byte-level entries hold
 * one or two UTF-8 bytes per input byte, SentencePiece entries spell a space as three-byte "▁"), so no token covers more
 * bytes than its entry's UTF-8 length. Normalizers can shrink text before that: Unicode normalization at most 4× (NFKC
 * maps four-byte mathematical letters to one-byte ASCII), a string Replace by its pattern over its replacement. A
 * normalizer that can delete text (Strip, StripAccents, BERT's cleaning, a precompiled SentencePiece map, a regex
 * Replace), or a pre-tokenizer that drops characters (Whitespace, a Split that removes), leaves no bound.
 */
final class TokenLengthBound {
    private static final Set<String> AT_MOST_4X = Set.of("NFC", "NFD", "NFKC", "NFKD");
    private static final Set<String> NEVER_SHRINK = Set.of("Prepend", "ByteLevel");
    private static final Set<String> KEEPING_PRE_TOKENIZERS = Set.of("ByteLevel", "Metaspace", "Digits", "Split", "Punctuation");

    private TokenLengthBound() {}

    /** Bytes of input per token at most, or 0 when the normalizer allows no bound. */
    static int bytesPerToken(JsonNode tokenizerJson, Iterable<String> tokens) {
        double shrink = shrinkFactor(tokenizerJson.path("normalizer"));
        if (!(shrink > 0) || !keepsEveryCharacter(tokenizerJson.path("pre_tokenizer"))) {
            return 0;
        }
        int longest = 1;
        for (String t : tokens) {
            longest = Math.max(longest, t.getBytes(StandardCharsets.UTF_8).length);
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.ceil(longest * shrink));
    }

    /** Whether the pre-tokenizer hands on every character (splits, never drops: no Whitespace, no Split "Removed"). */
    private static boolean keepsEveryCharacter(JsonNode pre) {
        if (pre.isMissingNode() || pre.isNull()) {
            return true;
        }
        String type = pre.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode p : pre.path("pretokenizers")) {
                if (!keepsEveryCharacter(p)) {
                    return false;
                }
            }
            return true;
        }
        if (KEEPING_PRE_TOKENIZERS.contains(type)) {
            return !pre.path("behavior").asText().equals("Removed");
        }
        return false;
    }

    /** How many times shorter the normalizer can make a text (1: never shorter), or 0 for unbounded. */
    private static double shrinkFactor(JsonNode normalizer) {
        if (normalizer.isMissingNode() || normalizer.isNull()) {
            return 1;
        }
        String type = normalizer.path("type").asText();
        if (type.equals("Sequence")) {
            double factor = 1;
            for (JsonNode n : normalizer.path("normalizers")) {
                double f = shrinkFactor(n);
                if (f == 0) {
                    return 0;
                }
                factor *= f;
            }
            return factor;
        }
        if (AT_MOST_4X.contains(type)) {
            return 4;
        }
        if (NEVER_SHRINK.contains(type)) {
            return 1;
        }
        if (type.equals("Lowercase")) {
            return 1.5; // a few letters lose a byte lowercased ("ẞ" 3 bytes to "ß" 2)
        }
        if (type.equals("Replace") && normalizer.path("pattern").has("String")) {
            int pattern = normalizer.path("pattern").path("String").asText().getBytes(StandardCharsets.UTF_8).length;
            int content = normalizer.path("content").asText().getBytes(StandardCharsets.UTF_8).length;
            return content == 0 ? 0 : Math.max(1.0, (double) pattern / content);
        }
        return 0;
    }
}
