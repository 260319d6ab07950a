package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class BatchInvarianceTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(16, 3, 20, 5);

    private static void assertSameCompletions(List<CompletionResult> expected, List<CompletionResult> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).promptIndex(), actual.get(i).promptIndex());
            assertArrayEquals(expected.get(i).tokenIds(), actual.get(i).tokenIds(), "prompt " + i);
            assertEquals(expected.get(i).finishReason(), actual.get(i).finishReason(), "prompt " + i);
            assertArrayEquals(expected.get(i).logprobs(), actual.get(i).logprobs(), 1e-4f, "prompt " + i);
        }
    }

    @Test
    void greedyCompletionsOfSixteenPromptsBatchedEqualEachGeneratedAlone() {
        SamplingParams greedy = SamplingParams.greedy(24);
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            List<CompletionResult> batched = TestEngines.generate(engine, PROMPTS, greedy);
            List<CompletionResult> alone = PROMPTS.stream()
                    .map(p -> TestEngines.generate(engine, List.of(p), greedy).get(0)).toList();
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertArrayEquals(alone.get(i).tokenIds(), batched.get(i).tokenIds(), "prompt " + i);
                assertArrayEquals(alone.get(i).logprobs(), batched.get(i).logprobs(), 1e-4f, "prompt " + i);
            }
        }
    }

    /**
     * In the bf16 mode a sequence alone decodes over the bf16 copy (one row) and among the 16 through libtorch's GEMM
     * over the same rounded weights (more rows than the kernel takes): the same tokens, log-probs within 1e-4.
     */
    @Test
    void bf16GreedyCompletionsBatchedEqualEachGeneratedAlone() {
        SamplingParams greedy = SamplingParams.greedy(24);
        try (dev.rollout.model.CausalLM model = new dev.rollout.model.CausalLM(TestEngines.CONFIG, TestEngines.weights(11))) {
            model.serveInBf16();
            try (Engine engine = new Engine(model, TestEngines.config(256), null)) {
                List<CompletionResult> batched = TestEngines.generate(engine, PROMPTS, greedy);
                long before = model.bf16Forwards();
                List<CompletionResult> alone = PROMPTS.stream()
                        .map(p -> TestEngines.generate(engine, List.of(p), greedy).get(0)).toList();
                org.junit.jupiter.api.Assertions.assertTrue(model.bf16Forwards() > before,
                        "the decode steps alone ran over the bf16 copy");
                for (int i = 0; i < PROMPTS.size(); i++) {
                    assertArrayEquals(alone.get(i).tokenIds(), batched.get(i).tokenIds(), "prompt " + i);
                    assertArrayEquals(alone.get(i).logprobs(), batched.get(i).logprobs(), 1e-4f, "prompt " + i);
                }
            }
        }
    }

    /**
     * The RNG of a completion is seeded from (seed, prompt index, sample index), so the comparison keeps the request
     * and varies the company: one sequence per step (max_num_seqs 1), all 16 together, and all 16 alongside another
     * request's sequences.
     */
    @Test
    void seededSampledCompletionsDoNotDependOnTheRestOfTheBatch() {
        SamplingParams seeded = SamplingParams.defaults(24).withSeed(1234L).withTemperature(0.9f).withTopK(40);
        List<CompletionResult> alone;
        try (Engine engine = TestEngines.engine(TestEngines.config(256).withMaxNumSeqs(1))) {
            alone = TestEngines.generate(engine, PROMPTS, seeded);
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            assertSameCompletions(alone, TestEngines.generate(engine, PROMPTS, seeded));
            RequestHandle other = engine.submit(new GenerationRequest("other", TestEngines.prompts(8, 5, 30, 9),
                    SamplingParams.defaults(30).withN(2)));
            assertSameCompletions(alone, TestEngines.generate(engine, PROMPTS, seeded));
            TestEngines.await(other);
        }
    }
}
