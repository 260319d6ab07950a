package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The returned log-probs against an independent recomputation: a dense full-sequence forward of prompt + completion,
 * then the distribution of the sampling parameters built here from those logits.
 */
class LogprobsTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(3, 4, 12, 21);
    private static Engine engine;

    @BeforeAll
    static void start() {
        engine = TestEngines.engine(TestEngines.config(128));
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    /** Independent reference: log-prob of every kept token, -inf for the filtered ones. */
    private static double[] referenceLogprobs(float[] logits, double temperature, double topP) {
        int v = logits.length;
        double[] x = new double[v];
        for (int i = 0; i < v; i++) {
            x[i] = logits[i] / temperature;
        }
        double[] lp = logSoftmax(x);
        if (topP < 1) {
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Double.compare(lp[b], lp[a]));
            double mass = 0;
            for (Integer i : order) {
                if (mass >= topP) {
                    x[i] = Double.NEGATIVE_INFINITY;
                }
                mass += Math.exp(lp[i]);
            }
            return logSoftmax(x);
        }
        return lp;
    }

    private static double[] logSoftmax(double[] x) {
        double m = Arrays.stream(x).max().orElseThrow();
        double s = 0;
        for (double d : x) {
            s += Math.exp(d - m);
        }
        double lse = m + Math.log(s);
        return Arrays.stream(x).map(d -> d - lse).toArray();
    }

    /** Max |returned - reference| over every sampled token; fails if a sampled token was filtered out. */
    private static double maxDeviation(SamplingParams params, double temperature, double topP) {
        double worst = 0;
        for (CompletionResult c : TestEngines.generate(engine, PROMPTS, params)) {
            int[] prompt = PROMPTS.get(c.promptIndex());
            float[][] logits = TestEngines.denseLogits(TestEngines.model(), TestEngines.concat(prompt, c.tokenIds()));
            assertEquals(c.tokenIds().length, c.logprobs().length);
            for (int j = 0; j < c.tokenIds().length; j++) {
                double expected = referenceLogprobs(logits[prompt.length - 1 + j], temperature, topP)[c.tokenIds()[j]];
                assertTrue(expected > Double.NEGATIVE_INFINITY, "token " + j + " was sampled outside the top-p set");
                worst = Math.max(worst, Math.abs(expected - c.logprobs()[j]));
            }
        }
        return worst;
    }

    @Test
    void logprobsAtTemperatureOneEqualLogSoftmaxOfTheLogits() {
        SamplingParams p = SamplingParams.defaults(16).withSeed(3L).withIgnoreEos(true);
        assertTrue(maxDeviation(p, 1.0, 1.0) <= 1e-4);
    }

    @Test
    void logprobsAtTemperatureSevenTenthsEqualLogSoftmaxOfTheScaledLogits() {
        SamplingParams p = SamplingParams.defaults(16).withSeed(4L).withIgnoreEos(true).withTemperature(0.7f);
        assertTrue(maxDeviation(p, 0.7, 1.0) <= 1e-4);
    }

    @Test
    void processedLogprobsWithTopPAreRenormalisedOverTheNucleusAndTokensComeFromIt() {
        SamplingParams p = SamplingParams.defaults(16).withSeed(5L).withIgnoreEos(true).withTemperature(0.7f).withTopP(0.6f);
        assertTrue(maxDeviation(p, 0.7, 0.6) <= 1e-4);
    }

    @Test
    void rawLogprobsIgnoreTemperatureAndFilters() {
        SamplingParams p = SamplingParams.defaults(16).withSeed(6L).withIgnoreEos(true).withTemperature(0.7f).withTopP(0.6f)
                .withLogprobsMode(SamplingParams.LogprobsMode.RAW);
        for (CompletionResult c : TestEngines.generate(engine, PROMPTS, p)) {
            int[] prompt = PROMPTS.get(c.promptIndex());
            float[][] logits = TestEngines.denseLogits(TestEngines.model(), TestEngines.concat(prompt, c.tokenIds()));
            for (int j = 0; j < c.tokenIds().length; j++) {
                double expected = referenceLogprobs(logits[prompt.length - 1 + j], 1.0, 1.0)[c.tokenIds()[j]];
                assertEquals(expected, c.logprobs()[j], 1e-4);
            }
        }
    }

    @Test
    void greedyTakesTheArgmaxAndReturnsItsTemperatureOneLogprob() {
        for (CompletionResult c : TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(12).withIgnoreEos(true))) {
            int[] prompt = PROMPTS.get(c.promptIndex());
            float[][] logits = TestEngines.denseLogits(TestEngines.model(), TestEngines.concat(prompt, c.tokenIds()));
            for (int j = 0; j < c.tokenIds().length; j++) {
                float[] row = logits[prompt.length - 1 + j];
                int argmax = 0;
                for (int v = 1; v < row.length; v++) {
                    argmax = row[v] > row[argmax] ? v : argmax;
                }
                assertEquals(argmax, c.tokenIds()[j]);
                assertEquals(referenceLogprobs(row, 1.0, 1.0)[argmax], c.logprobs()[j], 1e-4);
            }
        }
    }
}
