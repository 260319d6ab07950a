package dev.rollout.trainer.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The JSON of one request to a reward service and the checks on its answer. The request holds one list per
 * argument, as TRL passes keyword arguments to a reward function: {@code prompts}, {@code completions},
 * {@code completion_ids} and every dataset column (null where a row lacks it); the answer must be
 * {@code {"rewards": [number or null, ...]}}, one per completion.
 */
final class RewardServiceCall {
    static final Set<String> ARGUMENTS = Set.of("prompts", "completions", "completion_ids");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SHOWN_CHARS = 300;

    private RewardServiceCall() {
    }

    static byte[] request(List<ScoredCompletion> batch) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode prompts = body.putArray("prompts");
        ArrayNode completions = body.putArray("completions");
        ArrayNode ids = body.putArray("completion_ids");
        Set<String> columns = new LinkedHashSet<>();
        for (ScoredCompletion c : batch) {
            prompts.add(c.prompt());
            completions.add(c.completion());
            ArrayNode row = ids.addArray();
            for (int id : c.completionIds()) {
                row.add(id);
            }
            columns.addAll(c.row().keySet());
        }
        columns.removeAll(ARGUMENTS); // a column cannot stand in for the trainer's own arguments
        for (String column : columns) {
            ArrayNode values = body.putArray(column);
            for (ScoredCompletion c : batch) {
                values.add(JSON.valueToTree(c.row().get(column)));
            }
        }
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the reward request as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The rewards of an answer with HTTP status 2xx; NaN for a null. Throws {@link BadAnswer} saying what is wrong. */
    static double[] rewards(String body, int expected) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadAnswer("answered with something that is not JSON (" + e.getOriginalMessage() + "): " + shown(body));
        }
        JsonNode rewards = root == null ? null : root.get("rewards");
        if (rewards == null || !rewards.isArray()) {
            throw new BadAnswer("answered without a \"rewards\" list (expected {\"rewards\": [number or null, ...]}): "
                    + shown(body));
        }
        if (rewards.size() != expected) {
            throw new BadAnswer("answered " + rewards.size() + " rewards for " + expected + " completions: " + shown(body));
        }
        double[] out = new double[expected];
        for (int i = 0; i < expected; i++) {
            JsonNode r = rewards.get(i);
            if (r.isNull()) {
                out[i] = Double.NaN;
            } else if (r.isNumber() && Double.isFinite(r.asDouble())) {
                out[i] = r.asDouble();
            } else {
                throw new BadAnswer("answered rewards[" + i + "] = " + shown(r.toString())
                        + ", which is not a finite number or null");
            }
        }
        return out;
    }

    /** At most a few hundred characters of what came back, on one line. */
    static String shown(String text) {
        String flat = text.replaceAll("\\s+", " ").strip();
        return flat.length() <= SHOWN_CHARS ? flat : flat.substring(0, SHOWN_CHARS) + "… (" + text.length() + " characters)";
    }

    /** The service answered, but not with what the contract asks: retrying would get the same. */
    static final class BadAnswer extends RuntimeException {
        BadAnswer(String message) {
            super(message);
        }
    }
}
