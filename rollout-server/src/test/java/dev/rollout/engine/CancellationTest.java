package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class CancellationTest {

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 6000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), "condition not reached");
    }

    private static void assertAllAbortedOrDone(List<CompletionResult> results, int expected) {
        assertEquals(expected, results.size());
        assertTrue(results.stream().anyMatch(r -> r.finishReason() == FinishReason.ABORTED));
        for (CompletionResult r : results) {
            assertEquals(r.tokenIds().length, r.logprobs().length);
        }
    }

    @Test
    void cancellingMidDecodeAbortsTheSequencesAndFreesEveryBlock() throws InterruptedException {
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            RequestHandle handle = engine.submit(new GenerationRequest("c", TestEngines.prompts(4, 5, 12, 51),
                    SamplingParams.defaults(200).withN(2).withIgnoreEos(true)));
            waitUntil(() -> engine.stats().generatedTokens() >= 16);
            handle.cancel();
            assertAllAbortedOrDone(TestEngines.await(handle), 8);
            assertEquals(256, engine.cacheInfo().freeBlocks());
            assertEquals(0, engine.runningSequences() + engine.waitingSequences());
        }
    }

    @Test
    void cancellingAfterPreemptionsFreesEveryBlock() throws InterruptedException {
        try (Engine engine = TestEngines.engine(TestEngines.config(40))) {
            RequestHandle handle = engine.submit(new GenerationRequest("c", TestEngines.prompts(8, 8, 14, 52),
                    SamplingParams.defaults(120).withN(2).withIgnoreEos(true)));
            waitUntil(() -> engine.stats().preemptions() > 0);
            handle.cancel();
            assertAllAbortedOrDone(TestEngines.await(handle), 16);
            assertEquals(40, engine.cacheInfo().freeBlocks());
        }
    }

    @Test
    void cancellingBeforeAnyStepAbortsEverySequence() {
        try (Engine engine = TestEngines.engine(TestEngines.config(64))) {
            RequestHandle running = engine.submit(new GenerationRequest("a", TestEngines.prompts(2, 5, 5, 53),
                    SamplingParams.greedy(100).withIgnoreEos(true)));
            RequestHandle queued = engine.submit(new GenerationRequest("b", TestEngines.prompts(3, 5, 5, 54),
                    SamplingParams.greedy(100).withN(3).withIgnoreEos(true)));
            queued.cancel();
            running.cancel();
            assertEquals(9, TestEngines.await(queued).size());
            TestEngines.await(running);
            assertEquals(64, engine.cacheInfo().freeBlocks());
        }
    }

    @Test
    void closingTheEngineAbortsWhatIsInFlight() {
        Engine engine = TestEngines.engine(TestEngines.config(64));
        RequestHandle handle = engine.submit(new GenerationRequest("a", TestEngines.prompts(2, 5, 5, 55),
                SamplingParams.greedy(200).withIgnoreEos(true)));
        engine.close();
        List<CompletionResult> results = TestEngines.await(handle);
        assertEquals(2, results.size());
    }
}
