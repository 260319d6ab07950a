package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.model.CausalLM;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every generated token records the weight version it was sampled under; a completion's version is its first token's. */
class TokenWeightVersionsTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9};

    private Engine engine;

    @BeforeEach
    void start() {
        // Its own model: a swap closes the weights it replaces, and the other tests share TestEngines.model().
        engine = new Engine(new CausalLM(TestEngines.CONFIG, TestEngines.weights(11)), TestEngines.config(64), null);
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void aCompletionWithinOneVersionCarriesThatVersionOnEveryToken() {
        CompletionResult c = TestEngines.generate(engine, List.of(PROMPT), SamplingParams.greedy(6).withIgnoreEos(true)).get(0);
        assertArrayEquals(new long[6], c.tokenWeightVersions());
        assertEquals(0, c.weightVersion());
    }

    @Test
    void aCompletionThatSpansASwapCarriesBothVersionsAtTheRightTokens() {
        // Step 1 prefills and samples token 0; each later step samples one more. After step 3, tokens 0..2 are out.
        AtomicInteger steps = new AtomicInteger();
        engine.afterEachStep(() -> {
            if (steps.incrementAndGet() == 3) {
                engine.swapWeights(TestEngines.weights(12), 4, InflightWeightUpdate.KEEP);
            }
        });
        CompletionResult c = TestEngines.generate(engine, List.of(PROMPT), SamplingParams.greedy(7).withIgnoreEos(true)).get(0);
        assertArrayEquals(new long[] {0, 0, 0, 4, 4, 4, 4}, c.tokenWeightVersions());
        assertEquals(0, c.weightVersion(), "the completion's version is its first token's");
    }
}
