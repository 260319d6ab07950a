package dev.rollout.bench;

import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One scenario's work: {@code prompts} prompts with GSM8K-like lengths, each completed {@code generations} times, every
 * completion forced to a length drawn from a long-tailed distribution (most short, a few at {@code maxTokens}) with
 * {@code ignore_eos}. The same workload object is given to both schedulers, so they do exactly the same tokens.
 *
 * <p>Sampling parameters belong to a request, so completions with different forced lengths are separate requests: one
 * per completion ({@code n = 1}), in prompt-major order as TRL repeats its prompts, each with its own seed. The samples of
 * one prompt then share the prompt's KV through the prefix cache rather than by forking inside one request.
 */
public record Workload(List<int[]> prompts, int[][] lengths, int maxTokens, long seed) {

    /** One completion: sample {@code sampleIndex} of prompt {@code promptIndex}, forced to {@code length} tokens. */
    public record Sample(int promptIndex, int sampleIndex, int length) {}

    /** Share of completions that run to the cap, as the few in TRL's runs that never emit EOS. */
    static final double CAPPED_SHARE = 0.05;
    /** The other completions: lognormal around {@code maxTokens / 8}. */
    static final double MEDIAN_FRACTION = 1.0 / 8;
    static final double LOG_SIGMA = 0.8;
    /** GSM8K questions in a chat template: ~60–250 tokens, median ~120. */
    static final double PROMPT_MEDIAN = 120;
    static final double PROMPT_LOG_SIGMA = 0.3;
    static final int PROMPT_MIN = 48;
    static final int PROMPT_MAX = 256;

    public static Workload generate(int prompts, int generations, int maxTokens, int vocabSize, int maxPromptLength,
            long seed) {
        if (prompts < 1 || generations < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("need at least one prompt, one generation and one token, got prompts="
                    + prompts + ", generations=" + generations + ", max tokens=" + maxTokens);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        List<int[]> ids = new ArrayList<>(prompts);
        int[][] lengths = new int[prompts][generations];
        int longest = Math.min(PROMPT_MAX, maxPromptLength);
        int shortest = Math.min(PROMPT_MIN, longest);
        for (int p = 0; p < prompts; p++) {
            int len = clamp((int) Math.round(PROMPT_MEDIAN * Math.exp(PROMPT_LOG_SIGMA * gaussian(rng))), shortest, longest);
            int[] prompt = new int[len];
            for (int i = 0; i < len; i++) {
                // Ids from the low end of the vocabulary (the tokenizer's own range in the presets), never 0.
                prompt[i] = 1 + rng.nextInt(Math.min(vocabSize, 512) - 1);
            }
            ids.add(prompt);
            for (int s = 0; s < generations; s++) {
                lengths[p][s] = completionLength(rng, maxTokens);
            }
        }
        return new Workload(ids, lengths, maxTokens, seed);
    }

    static int completionLength(SplittableRandom rng, int maxTokens) {
        if (rng.nextDouble() < CAPPED_SHARE) {
            return maxTokens;
        }
        double median = Math.max(1, maxTokens * MEDIAN_FRACTION);
        return clamp((int) Math.round(median * Math.exp(LOG_SIGMA * gaussian(rng))), 1, maxTokens);
    }

    public int generations() {
        return lengths[0].length;
    }

    public int numSequences() {
        return prompts.size() * generations();
    }

    public int longestPrompt() {
        return prompts.stream().mapToInt(p -> p.length).max().orElse(0);
    }

    public long promptTokens() {
        return prompts.stream().mapToLong(p -> (long) p.length * generations()).sum();
    }

    /** The tokens both schedulers must generate. */
    public long outputTokens() {
        return Arrays.stream(lengths).flatMapToInt(Arrays::stream).asLongStream().sum();
    }

    /** Every completion, prompt-major: prompt 0's samples, then prompt 1's, ... */
    public List<Sample> samples() {
        List<Sample> out = new ArrayList<>(numSequences());
        for (int p = 0; p < prompts.size(); p++) {
            for (int s = 0; s < generations(); s++) {
                out.add(new Sample(p, s, lengths[p][s]));
            }
        }
        return out;
    }

    /** Temperature 1, EOS ignored, a seed of its own: a forced length, the same draws whichever scheduler runs it. */
    public GenerationRequest request(Sample s) {
        SamplingParams params = SamplingParams.defaults(s.length()).withIgnoreEos(true)
                .withSeed(seed ^ (0x9E3779B97F4A7C15L * (1 + s.promptIndex() * 100_003L + s.sampleIndex())));
        return new GenerationRequest("bench-p" + s.promptIndex() + "-s" + s.sampleIndex(),
                List.of(prompts.get(s.promptIndex())), params);
    }

    private static double gaussian(SplittableRandom rng) {
        // Box-Muller: SplittableRandom has no nextGaussian on Java 17.
        double u = 1 - rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
