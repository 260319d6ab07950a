package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A cache large enough to be mapped lazily generates exactly what a small zero-filled one does. */
class LazyKvCacheEngineTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(12, 3, 30, 5);

    @Test
    void aLazilyMappedCacheGeneratesWhatAZeroFilledOneDoes() {
        SamplingParams params = SamplingParams.greedy(20).withIgnoreEos(true).withN(2);
        List<CompletionResult> small;
        List<CompletionResult> large;
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            small = TestEngines.generate(engine, PROMPTS, params);
        }
        // 70,000 blocks of 4 tokens: 17 MiB per layer tensor, above the size from which CPU tensors are mapped lazily
        try (Engine engine = TestEngines.engine(TestEngines.config(70_000))) {
            large = TestEngines.generate(engine, PROMPTS, params);
        }
        assertEquals(small.size(), large.size());
        for (int i = 0; i < small.size(); i++) {
            assertArrayEquals(small.get(i).tokenIds(), large.get(i).tokenIds(), "completion " + i);
            assertArrayEquals(small.get(i).logprobs(), large.get(i).logprobs(), "completion " + i);
        }
    }
}
