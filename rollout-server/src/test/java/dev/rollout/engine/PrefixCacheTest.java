package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Block size 4 throughout: a 10-token prompt has two full blocks; its last token is always recomputed. */
class PrefixCacheTest {
    private static final int[] PROMPT = TestEngines.prompts(1, 10, 10, 31).get(0);

    @Test
    void theEightSamplesOfAPromptShareOnePrefill() {
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            List<CompletionResult> results = TestEngines.generate(engine, List.of(PROMPT),
                    SamplingParams.defaults(8).withN(8).withSeed(1L).withIgnoreEos(true));
            assertEquals(8, results.size());
            assertEquals(PROMPT.length, engine.stats().computedPromptTokens());
            Set<String> distinct = new HashSet<>();
            for (int s = 0; s < 8; s++) {
                assertEquals(s, results.get(s).sampleIndex());
                assertEquals(8, results.get(s).tokenIds().length);
                distinct.add(java.util.Arrays.toString(results.get(s).tokenIds()));
            }
            assertTrue(distinct.size() > 1, "each sample draws from its own RNG");
            assertEquals(engine.cacheInfo().numBlocks(), engine.cacheInfo().freeBlocks());
        }
    }

    @Test
    void whenTheFirstSampleEndsOnItsFirstTokenTheOthersStillShareItsPrefill() {
        SamplingParams params = SamplingParams.defaults(6).withN(4).withSeed(5L).withIgnoreEos(true);
        int stop;
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            List<CompletionResult> free = TestEngines.generate(engine, List.of(PROMPT), params);
            stop = free.get(0).tokenIds()[0];
            assertTrue(free.stream().anyMatch(r -> r.tokenIds()[0] != stop), "some sample must go on");
        }
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            List<CompletionResult> results = TestEngines.generate(engine, List.of(PROMPT), params.withStopTokenIds(stop));
            assertEquals(1, results.get(0).tokenIds().length);
            assertEquals(PROMPT.length, engine.stats().computedPromptTokens());
            assertEquals(128, engine.cacheInfo().freeBlocks());
        }
    }

    @Test
    void forkedSamplesEqualSamplesPrefilledSeparately() {
        SamplingParams params = SamplingParams.defaults(8).withN(4).withSeed(2L).withIgnoreEos(true);
        try (Engine shared = TestEngines.engine(TestEngines.config(128));
             Engine separate = TestEngines.engine(TestEngines.config(128).withScheduler(EngineConfig.SchedulerKind.STATIC))) {
            List<CompletionResult> a = TestEngines.generate(shared, List.of(PROMPT), params);
            List<CompletionResult> b = TestEngines.generate(separate, List.of(PROMPT), params);
            assertEquals(4L * PROMPT.length, separate.stats().computedPromptTokens());
            for (int s = 0; s < 4; s++) {
                assertArrayEquals(b.get(s).tokenIds(), a.get(s).tokenIds(), "sample " + s);
            }
        }
    }

    @Test
    void aRepeatedPromptHitsThePrefixCacheUntilItIsReset() {
        SamplingParams greedy = SamplingParams.greedy(6);
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            CompletionResult first = TestEngines.generate(engine, List.of(PROMPT), greedy).get(0);
            assertEquals(0, first.cachedPromptTokens());
            assertEquals(10, engine.stats().computedPromptTokens());

            CompletionResult second = TestEngines.generate(engine, List.of(PROMPT), greedy).get(0);
            assertEquals(8, second.cachedPromptTokens());
            assertEquals(12, engine.stats().computedPromptTokens());
            assertArrayEquals(first.tokenIds(), second.tokenIds());

            assertTrue(engine.resetPrefixCache() > 0);
            CompletionResult third = TestEngines.generate(engine, List.of(PROMPT), greedy).get(0);
            assertEquals(0, third.cachedPromptTokens());
            assertEquals(22, engine.stats().computedPromptTokens());
            assertArrayEquals(first.tokenIds(), third.tokenIds());
        }
    }

    @Test
    void aPromptOfWholeBlocksRecomputesItsLastBlock() {
        int[] twelve = TestEngines.prompts(1, 12, 12, 32).get(0);
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            TestEngines.generate(engine, List.of(twelve), SamplingParams.greedy(2));
            CompletionResult again = TestEngines.generate(engine, List.of(twelve), SamplingParams.greedy(2)).get(0);
            assertEquals(8, again.cachedPromptTokens());
        }
    }

    @Test
    void swappingWeightsForgetsTheCacheAndBumpsTheVersion() {
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            TestEngines.generate(engine, List.of(PROMPT), SamplingParams.greedy(4));
            engine.swapWeights(TestEngines.model().weights(), 7, InflightWeightUpdate.KEEP);
            CompletionResult after = TestEngines.generate(engine, List.of(PROMPT), SamplingParams.greedy(4)).get(0);
            assertEquals(0, after.cachedPromptTokens());
            assertEquals(7, after.weightVersion());
            assertEquals(7, engine.weightVersion());
            assertNotEquals(0, engine.cacheInfo().numBlocks());
        }
    }
}
