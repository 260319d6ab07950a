package dev.rollout.engine;

/**
 * One finished completion: sample {@code sampleIndex} of prompt {@code promptIndex}. {@code logprobs[i]} is the log-prob
 * of {@code tokenIds[i]} in the request's {@link SamplingParams.LogprobsMode}. {@code tokenWeightVersions[i]} is the weight
 * version {@code tokenIds[i]} was sampled under (non-decreasing: a swap may land while a completion runs);
 * {@code weightVersion} is its first token's version, or for a completion without tokens the version serving when it
 * ended. {@code cachedPromptTokens} is how many prompt tokens were found in the
 * prefix cache when the prompt was first scheduled.
 */
public record CompletionResult(int promptIndex, int sampleIndex, int[] promptTokenIds, int[] tokenIds, float[] logprobs,
                               FinishReason finishReason, long weightVersion, long[] tokenWeightVersions,
                               int cachedPromptTokens) {}
