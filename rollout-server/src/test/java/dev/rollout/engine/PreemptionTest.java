package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Eight 8–14 token prompts with 24 new tokens each need up to 10 blocks of 4 apiece, 80 in all (more with n > 1);
 * a 24-block cache holds two or three at once, so the scheduler must preempt and recompute.
 */
class PreemptionTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(8, 8, 14, 41);

    private static void assertSmallCacheMatchesLargeCache(SamplingParams params) {
        List<CompletionResult> large;
        try (Engine engine = TestEngines.engine(TestEngines.config(512))) {
            large = TestEngines.generate(engine, PROMPTS, params);
            assertEquals(0, engine.stats().preemptions());
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(24))) {
            List<CompletionResult> small = TestEngines.generate(engine, PROMPTS, params);
            assertTrue(engine.stats().preemptions() > 0, "the small cache should have forced preemptions");
            assertEquals(large.size(), small.size());
            for (int i = 0; i < large.size(); i++) {
                assertArrayEquals(large.get(i).tokenIds(), small.get(i).tokenIds(), "completion " + i);
                assertArrayEquals(large.get(i).logprobs(), small.get(i).logprobs(), 1e-4f, "completion " + i);
                assertEquals(large.get(i).finishReason(), small.get(i).finishReason());
            }
            assertEquals(24, engine.cacheInfo().freeBlocks(), "every block is free again");
        }
    }

    @Test
    void greedyRequestsCompleteThroughPreemptionWithTheOutputsOfALargeCache() {
        assertSmallCacheMatchesLargeCache(SamplingParams.greedy(24).withIgnoreEos(true));
    }

    @Test
    void forkedSampledRequestsCompleteThroughPreemptionWithTheOutputsOfALargeCache() {
        assertSmallCacheMatchesLargeCache(SamplingParams.defaults(24).withN(3).withSeed(9L).withIgnoreEos(true));
    }

    @Test
    void aRequestThatCanNeverFitIsRejectedUpFront() {
        try (Engine engine = TestEngines.engine(TestEngines.config(24))) {
            IllegalArgumentException tooBig = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> engine.submit(new GenerationRequest("big", List.of(new int[90]), SamplingParams.greedy(10))));
            assertTrue(tooBig.getMessage().contains("blocks"), tooBig.getMessage());
            IllegalArgumentException tooLong = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> engine.submit(new GenerationRequest("long", List.of(new int[10]), SamplingParams.greedy(250))));
            assertTrue(tooLong.getMessage().contains("context"), tooLong.getMessage());
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> engine.submit(new GenerationRequest("oov", List.of(new int[] {1, 97}), SamplingParams.greedy(1))));
        }
    }
}
