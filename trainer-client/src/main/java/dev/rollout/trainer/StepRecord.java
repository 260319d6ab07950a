package dev.rollout.trainer;

import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.reward.ScoredCompletion;
import java.util.List;
import java.util.Map;

/**
 * What one training step produced: TRL's metrics by name, and the completions with their rewards (for samples shown
 * to a person).
 */
public record StepRecord(int step, Map<String, Double> metrics, List<Completion> completions, List<ScoredCompletion> scored,
                         double[] rewards, long generatedTokens, long publishedBytes) {}
