package dev.rollout.trainer.reward;

import java.util.Map;

/** What the reward functions see of one completion: its prompt, its text and ids, and its dataset row's columns. */
public record ScoredCompletion(String prompt, String completion, int[] completionIds, Map<String, Object> row) {
}
