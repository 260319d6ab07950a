package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkedPrefillTest {
    private static final int[] LONG_PROMPT = TestEngines.prompts(1, 150, 150, 61).get(0);

    @Test
    void aLongPromptPrefilledInChunksCompletesAsPrefilledAtOnce() {
        SamplingParams greedy = SamplingParams.greedy(16).withIgnoreEos(true);
        CompletionResult whole;
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            whole = TestEngines.generate(engine, List.of(LONG_PROMPT), greedy).get(0);
            assertTrue(engine.stats().steps() <= 16, "one prefill step, then decodes");
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(128).withMaxBatchTokens(16))) {
            // Alongside short requests, so that chunks share steps with decodes.
            RequestHandle others = engine.submit(new GenerationRequest("short", TestEngines.prompts(3, 3, 6, 62), greedy));
            CompletionResult chunked = TestEngines.generate(engine, List.of(LONG_PROMPT), greedy).get(0);
            TestEngines.await(others);
            assertTrue(engine.stats().steps() >= 150 / 16, "the prompt took several steps");
            assertArrayEquals(whole.tokenIds(), chunked.tokenIds());
            assertArrayEquals(whole.logprobs(), chunked.logprobs(), 1e-4f);
        }
    }
}
