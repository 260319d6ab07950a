package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.CausalLM;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The prefix cache never serves K/V computed under another weight version, whatever ran across the swap. */
class PrefixCacheAcrossVersionsTest {
    /** Three whole blocks of 4. */
    private static final int[] PROMPT = TestEngines.prompts(1, 12, 12, 41).get(0);
    private static final int NUM_BLOCKS = 64;

    private Engine engine;

    @AfterEach
    void stop() {
        engine.close();
    }

    /** One completion of PROMPT with new weights (seed 12, version 1) swapped in after its 4th step. */
    private CompletionResult generateAcrossASwap(InflightWeightUpdate mode) {
        engine = new Engine(new CausalLM(TestEngines.CONFIG, TestEngines.weights(11)), TestEngines.config(NUM_BLOCKS), null);
        AtomicInteger steps = new AtomicInteger();
        engine.afterEachStep(() -> {
            if (steps.incrementAndGet() == 4) {
                engine.swapWeights(TestEngines.weights(12), 1, mode);
            }
        });
        CompletionResult c = TestEngines.generate(engine, List.of(PROMPT), SamplingParams.defaults(16).withSeed(2L)
                .withIgnoreEos(true)).get(0);
        engine.afterEachStep(() -> {});
        return c;
    }

    /** PROMPT followed by the first 8 tokens of {@code c}: five whole blocks, computed across the swap. */
    private static int[] continuation(CompletionResult c) {
        return TestEngines.concat(PROMPT, Arrays.copyOf(c.tokenIds(), 8));
    }

    private CompletionResult generate(int[] prompt) {
        return TestEngines.generate(engine, List.of(prompt), SamplingParams.defaults(4).withSeed(9L)).get(0);
    }

    @Test
    void underKeepNothingComputedBeforeTheSwapIsServedAfterIt() {
        CompletionResult first = generateAcrossASwap(InflightWeightUpdate.KEEP);
        // The prompt's blocks were cached before the swap, the next two filled after it over old K/V: none may serve.
        assertEquals(0, generate(continuation(first)).cachedPromptTokens());
        assertEquals(NUM_BLOCKS, engine.cacheInfo().freeBlocks());
    }

    @Test
    void underRecomputeWhatIsServedAfterTheSwapWasComputedByTheNewWeights() {
        int[] prompt = continuation(generateAcrossASwap(InflightWeightUpdate.RECOMPUTE));
        CompletionResult again = generate(prompt);
        assertTrue(again.cachedPromptTokens() > 0, "the recomputed blocks are cached under the new version");
        for (double error : TestEngines.logprobErrors(prompt, again, TestEngines.weights(12))) {
            assertTrue(error < 1e-5, "a cached block was not the new weights' K/V: log-prob off by " + error);
        }
        assertEquals(NUM_BLOCKS, engine.cacheInfo().freeBlocks());
    }
}
