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
