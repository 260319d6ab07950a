package dev.rollout.engine;

import java.util.Arrays;

/**
 * How the completions of one request are drawn. Filters apply in the order temperature, top-k, top-p, min-p; a
 * temperature of 0 (or any below {@link #GREEDY_BELOW_TEMPERATURE}) means greedy. A {@code null} seed draws a random base seed per request.
 */
public record SamplingParams(int n, int maxTokens, float temperature, float topP, int topK, float minP,
                             Long seed, int[] stopTokenIds, boolean ignoreEos, LogprobsMode logprobsMode) {

    /** Which distribution the returned log-prob of a sampled token is taken under. */
    public enum LogprobsMode {
        /** The distribution actually sampled: after temperature, top-k, top-p and min-p, renormalised over the kept tokens. */
        PROCESSED,
        /** {@code log_softmax} of the raw logits. */
        RAW
    }

    public SamplingParams {
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
        logprobsMode = logprobsMode == null ? LogprobsMode.PROCESSED : logprobsMode;
        require(n >= 1, "n must be at least 1, got " + n);
        require(maxTokens > 0, "max_tokens must be positive, got " + maxTokens);
        require(Float.isFinite(temperature) && temperature >= 0, "temperature must be finite and >= 0, got " + temperature);
        require(topP > 0 && topP <= 1, "top_p must be in (0, 1], got " + topP);
        require(topK >= 0, "top_k must be >= 0 (0 turns it off), got " + topK);
        require(minP >= 0 && minP <= 1, "min_p must be in [0, 1], got " + minP);
    }

    /** One completion, temperature 1, no filters, random seed, processed log-probs. */
    public static SamplingParams defaults(int maxTokens) {
        return new SamplingParams(1, maxTokens, 1f, 1f, 0, 0f, null, new int[0], false, LogprobsMode.PROCESSED);
    }

    /** One greedy completion. */
    public static SamplingParams greedy(int maxTokens) {
        return defaults(maxTokens).withTemperature(0f);
    }

    /**
     * Temperatures below this sample greedily, as vLLM does below its 1e-5: dividing logits by a smaller one overflows
     * fp32 (1e-45 turns every logit into an infinity and the log-probs into NaN), and the distribution is greedy anyway.
     */
    public static final float GREEDY_BELOW_TEMPERATURE = 1e-5f;

    public boolean isGreedy() {
        return temperature < GREEDY_BELOW_TEMPERATURE;
    }

    public SamplingParams withN(int value) {
        return new SamplingParams(value, maxTokens, temperature, topP, topK, minP, seed, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withTemperature(float value) {
        return new SamplingParams(n, maxTokens, value, topP, topK, minP, seed, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withTopP(float value) {
        return new SamplingParams(n, maxTokens, temperature, value, topK, minP, seed, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withTopK(int value) {
        return new SamplingParams(n, maxTokens, temperature, topP, value, minP, seed, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withMinP(float value) {
        return new SamplingParams(n, maxTokens, temperature, topP, topK, value, seed, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withSeed(Long value) {
        return new SamplingParams(n, maxTokens, temperature, topP, topK, minP, value, stopTokenIds, ignoreEos, logprobsMode);
    }

    public SamplingParams withStopTokenIds(int... value) {
        return new SamplingParams(n, maxTokens, temperature, topP, topK, minP, seed, value, ignoreEos, logprobsMode);
    }

    public SamplingParams withIgnoreEos(boolean value) {
        return new SamplingParams(n, maxTokens, temperature, topP, topK, minP, seed, stopTokenIds, value, logprobsMode);
    }

    public SamplingParams withLogprobsMode(LogprobsMode value) {
        return new SamplingParams(n, maxTokens, temperature, topP, topK, minP, seed, stopTokenIds, ignoreEos, value);
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    boolean isStopToken(int token) {
        for (int id : stopTokenIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "SamplingParams[n=" + n + ", maxTokens=" + maxTokens + ", temperature=" + temperature + ", topP=" + topP
                + ", topK=" + topK + ", minP=" + minP + ", seed=" + seed + ", stopTokenIds=" + Arrays.toString(stopTokenIds)
                + ", ignoreEos=" + ignoreEos + ", logprobsMode=" + logprobsMode + "]";
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
