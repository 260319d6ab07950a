package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.AttentionBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tensor backend (what a GPU runs) against the Java backend on the same requests: same tokens, log-probs equal to
 * 1e-5 relative (at least 1e-5 absolute), through prefill chunks, decode batches, forked samples, the prefix cache and
 * preemption.
 *
 * <p>Relative because the two backends sum attention in different orders in fp32 and the difference grows with the
 * log-prob's magnitude: on an AMD EPYC, where libtorch's kernels take other code paths than on an Intel Xeon, a
 * log-prob of -3.87 after 20 greedy tokens differed by 1.0e-5 (2.6e-6 relative, about 20 float ulps).
 */
class AttentionBackendAgreementTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(12, 3, 40, 21);

    private static List<CompletionResult> run(AttentionBackend backend, EngineConfig config) {
        List<CompletionResult> out = new ArrayList<>();
        try (Engine engine = TestEngines.engine(config.withAttentionBackend(backend))) {
            out.addAll(TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(20)));
            SamplingParams sampled = SamplingParams.defaults(20).withSeed(77L).withTemperature(0.8f).withN(4);
            out.addAll(TestEngines.generate(engine, PROMPTS.subList(0, 4), sampled));
            // the same prompts again: their prefixes now come from the cache
            out.addAll(TestEngines.generate(engine, PROMPTS.subList(0, 4), sampled));
        }
        return out;
    }

    private static void assertAgree(EngineConfig config) {
        List<CompletionResult> java = run(AttentionBackend.JAVA, config);
        List<CompletionResult> tensor = run(AttentionBackend.TENSOR, config);
        assertEquals(java.size(), tensor.size());
        for (int i = 0; i < java.size(); i++) {
            assertArrayEquals(java.get(i).tokenIds(), tensor.get(i).tokenIds(), "completion " + i);
            assertClose(java.get(i).logprobs(), tensor.get(i).logprobs(), "completion " + i);
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int t = 0; t < expected.length; t++) {
            float bound = 1e-5f * Math.max(1f, Math.abs(expected[t]));
            assertTrue(Math.abs(expected[t] - actual[t]) <= bound,
                    what + ", token " + t + ": " + expected[t] + " vs " + actual[t] + " (bound " + bound + ")");
        }
    }

    @Test
    void theTensorBackendGivesTheJavaBackendsTokensAndLogprobs() {
        assertAgree(TestEngines.config(256));
    }

    @Test
    void theBackendsAgreeWithChunkedPrefillsAndPreemption() {
        EngineConfig tight = TestEngines.config(40).withMaxBatchTokens(16);
        assertAgree(tight);
        try (Engine engine = TestEngines.engine(tight.withAttentionBackend(AttentionBackend.TENSOR))) {
            TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(20));
            assertTrue(engine.stats().preemptions() > 0, "the tight cache preempts, so that path is compared too");
        }
    }
}
