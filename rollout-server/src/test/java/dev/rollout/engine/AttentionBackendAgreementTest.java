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
 * 1e-5, through prefill chunks, decode batches, forked samples, the prefix cache and preemption.
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
            assertArrayEquals(java.get(i).logprobs(), tensor.get(i).logprobs(), 1e-5f, "completion " + i);
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
