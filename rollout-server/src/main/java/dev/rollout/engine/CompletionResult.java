package dev.rollout.engine;

/**
 * One finished completion: sample {@code sampleIndex} of prompt {@code promptIndex}. {@code logprobs[i]} is the log-prob
 * of {@code tokenIds[i]} in the request's {@link SamplingParams.LogprobsMode}. {@code weightVersion} is the version of the
 * weights in force when the completion ended. {@code cachedPromptTokens} is how many prompt tokens were found in the
 * prefix cache when the prompt was first scheduled.
 */
public record CompletionResult(int promptIndex, int sampleIndex, int[] promptTokenIds, int[] tokenIds, float[] logprobs,
                               FinishReason finishReason, long weightVersion, int cachedPromptTokens) {}
