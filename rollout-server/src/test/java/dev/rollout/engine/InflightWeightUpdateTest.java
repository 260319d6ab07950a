package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.weights.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Weights swapped under running sequences, driven step by step (the swap runs in an after-step hook, so it lands between
 * two known steps): what each mode does to the tokens after the swap, checked against dense forwards of either weights.
 */
class InflightWeightUpdateTest {
    private static final int[] PROMPT = {5, 6, 7, 8, 9, 10, 11};
    private static final int MAX_TOKENS = 12;
    /** Step 1 prefills and samples token 0; each later step samples one more: the swap lands after token 3. */
    private static final int SWAP_AFTER_STEP = 4;
    private static final int NUM_BLOCKS = 64;

    private Engine engine;

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
    }

    /** Seed 11's weights with the final norm scaled: logits change, the K/V of every layer does not. */
    private static Map<String, HostTensor> withScaledFinalNorm() {
        Map<String, HostTensor> tensors = TestModels.mapOf(TestModels.randomWeights(TestEngines.CONFIG, 11, 0.3));
        HostTensor norm = tensors.get("model.norm.weight");
        float[] v = norm.toFloats();
        for (int i = 0; i < v.length; i++) {
            v[i] *= 1.7f;
        }
        tensors.put(norm.name(), HostTensor.ofFloats(norm.name(), norm.shape(), v));
        return tensors;
    }

    private CompletionResult generateWithSwap(ModelWeights next, InflightWeightUpdate mode) {
        return generateWithSwap(next, mode, EngineConfig.SchedulerKind.CONTINUOUS);
    }

    private CompletionResult generateWithSwap(ModelWeights next, InflightWeightUpdate mode, EngineConfig.SchedulerKind scheduler) {
        engine = new Engine(new CausalLM(TestEngines.CONFIG, TestEngines.weights(11)),
                TestEngines.config(NUM_BLOCKS).withScheduler(scheduler), null);
        AtomicInteger steps = new AtomicInteger();
        engine.afterEachStep(() -> {
            if (steps.incrementAndGet() == SWAP_AFTER_STEP) {
                engine.swapWeights(next, 1, mode);
            }
        });
        SamplingParams params = SamplingParams.defaults(MAX_TOKENS).withSeed(3L).withIgnoreEos(true);
        return TestEngines.generate(engine, List.of(PROMPT), params).get(0);
    }

    private static long[] versionsSwappedAt(int index) {
        long[] v = new long[MAX_TOKENS];
        java.util.Arrays.fill(v, index, MAX_TOKENS, 1);
        return v;
    }

    @Test
    void underRecomputeTheTokensAfterTheSwapHaveTheLogprobsOfAFreshForwardOfTheNewWeights() {
        CompletionResult c = generateWithSwap(TestEngines.weights(12), InflightWeightUpdate.RECOMPUTE);
        assertRecomputedUnderTheNewWeights(c);
    }

    @Test
    void underRecomputeTheStaticSchedulerAlsoPrefillsAgainUnderTheNewWeights() {
        CompletionResult c = generateWithSwap(TestEngines.weights(12), InflightWeightUpdate.RECOMPUTE,
                EngineConfig.SchedulerKind.STATIC);
        assertRecomputedUnderTheNewWeights(c);
    }

    /** Versions switch after the swap step, and every token has the log-prob of a fresh forward of its version. */
    private static void assertRecomputedUnderTheNewWeights(CompletionResult c) {
        assertArrayEquals(versionsSwappedAt(SWAP_AFTER_STEP), c.tokenWeightVersions());
        double[] underNew = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(12));
        double[] underOld = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(11));
        for (int j = 0; j < MAX_TOKENS; j++) {
            double d = j < SWAP_AFTER_STEP ? underOld[j] : underNew[j];
            assertTrue(d < 1e-5, "token " + j + " (version " + c.tokenWeightVersions()[j] + ") is off by " + d);
        }
    }

    @Test
    void underKeepTheStaticSchedulerKeepsTheOldKv() {
        CompletionResult c = generateWithSwap(TestEngines.weights(12), InflightWeightUpdate.KEEP, EngineConfig.SchedulerKind.STATIC);
        double[] underNew = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(12));
        double worst = 0;
        for (int j = SWAP_AFTER_STEP; j < MAX_TOKENS; j++) {
            worst = Math.max(worst, underNew[j]);
        }
        assertTrue(worst > 1e-3, "keep recomputed the K/V: the tokens after the swap match a fresh forward to " + worst);
    }

    @Test
    void underRecomputeAStaticBatchWithFinishedRowsPrefillsTheOthersAgainAndEndsWithEveryBlockFree() throws Exception {
        engine = new Engine(new CausalLM(TestEngines.CONFIG, TestEngines.weights(11)),
                TestEngines.config(NUM_BLOCKS).withScheduler(EngineConfig.SchedulerKind.STATIC), null);
        CountDownLatch submitted = new CountDownLatch(1);
        AtomicInteger steps = new AtomicInteger();
        engine.afterEachStep(() -> {
            int step = steps.incrementAndGet();
            if (step == 1) {
                await(submitted); // the next two requests then form one static batch
            } else if (step == 4) {
                engine.swapWeights(TestEngines.weights(12), 1, InflightWeightUpdate.RECOMPUTE);
            }
        });
        // step 1: a one-token request; step 2 prefills the batch of the next two; the short one ends at step 3
        RequestHandle first = engine.submit(new GenerationRequest("first", List.of(PROMPT),
                SamplingParams.defaults(1).withSeed(1L).withIgnoreEos(true)));
        RequestHandle shortOne = engine.submit(new GenerationRequest("short", List.of(PROMPT),
                SamplingParams.defaults(2).withSeed(5L).withIgnoreEos(true)));
        List<int[]> longPrompts = TestEngines.prompts(3, 4, 9, 21);
        RequestHandle longOnes = engine.submit(new GenerationRequest("long", longPrompts,
                SamplingParams.defaults(MAX_TOKENS).withSeed(3L).withIgnoreEos(true)));
        submitted.countDown();

        TestEngines.await(first);
        CompletionResult early = TestEngines.await(shortOne).get(0);
        List<CompletionResult> late = TestEngines.await(longOnes);

        assertArrayEquals(new long[] {0, 0}, early.tokenWeightVersions(), "the short row ended before the swap");
        for (CompletionResult c : late) {
            long[] versions = c.tokenWeightVersions();
            assertEquals(0, versions[0], "prompt " + c.promptIndex() + " started before the swap");
            assertEquals(1, versions[MAX_TOKENS - 1], "prompt " + c.promptIndex() + " ended after it");
            double[] underNew = TestEngines.logprobErrors(longPrompts.get(c.promptIndex()), c, TestEngines.weights(12));
            double[] underOld = TestEngines.logprobErrors(longPrompts.get(c.promptIndex()), c, TestEngines.weights(11));
            for (int j = 0; j < MAX_TOKENS; j++) {
                double d = versions[j] == 0 ? underOld[j] : underNew[j];
                assertTrue(d < 1e-5, "prompt " + c.promptIndex() + " token " + j + " (version " + versions[j] + ") is off by " + d);
            }
        }
        assertEquals(NUM_BLOCKS, engine.cacheInfo().freeBlocks(), "every block is free again");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void underKeepTheTokensAfterTheSwapComeFromTheNewWeights() {
        // Only the final norm changes, so the K/V kept from the old weights is also what the new ones compute.
        CompletionResult c = generateWithSwap(TestEngines.weights(withScaledFinalNorm()), InflightWeightUpdate.KEEP);
        assertArrayEquals(versionsSwappedAt(SWAP_AFTER_STEP), c.tokenWeightVersions());
        double[] underNew = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(withScaledFinalNorm()));
        double[] underOld = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(11));
        for (int j = SWAP_AFTER_STEP; j < MAX_TOKENS; j++) {
            assertTrue(underNew[j] < 1e-5, "token " + j + " is off the new weights by " + underNew[j]);
            assertTrue(underOld[j] > 1e-3, "token " + j + " still looks like the old weights: off by only " + underOld[j]);
        }
    }

    @Test
    void underKeepTheOldKvStaysSoLaterTokensDifferFromAFreshForwardOfTheNewWeights() {
        CompletionResult c = generateWithSwap(TestEngines.weights(12), InflightWeightUpdate.KEEP);
        double[] underNew = TestEngines.logprobErrors(PROMPT, c, TestEngines.weights(12));
        double worst = 0;
        for (int j = SWAP_AFTER_STEP; j < MAX_TOKENS; j++) {
            worst = Math.max(worst, underNew[j]);
        }
        assertTrue(worst > 1e-3, "keep recomputed the K/V: the tokens after the swap match a fresh forward to " + worst);
    }

    @Test
    void underRecomputeTheRunningSequencesAreRequeuedNotPreempted() {
        generateWithSwap(TestEngines.weights(12), InflightWeightUpdate.RECOMPUTE);
        assertEquals(0, engine.stats().preemptions(), "a recompute for new weights is not a preemption for memory");
    }

    @Test
    void noKvBlockLeaksAcrossSwapsInAnyMode() {
        for (EngineConfig.SchedulerKind scheduler : EngineConfig.SchedulerKind.values()) {
            for (InflightWeightUpdate mode : InflightWeightUpdate.values()) {
                noKvBlockLeaksAcrossSwaps(scheduler, mode);
            }
        }
    }

    private void noKvBlockLeaksAcrossSwaps(EngineConfig.SchedulerKind scheduler, InflightWeightUpdate mode) {
        {
            engine = new Engine(new CausalLM(TestEngines.CONFIG, TestEngines.weights(11)),
                    TestEngines.config(NUM_BLOCKS).withScheduler(scheduler), null);
            AtomicInteger steps = new AtomicInteger();
            engine.afterEachStep(() -> {
                int step = steps.incrementAndGet();
                if (step == 3 || step == 6) { // twice, while the forked samples share the prompt's blocks
                    engine.swapWeights(TestEngines.weights(12 + step), step, mode);
                }
            });
            List<CompletionResult> got = TestEngines.generate(engine,
                    TestEngines.prompts(3, 5, 13, 7), SamplingParams.defaults(10).withN(4).withSeed(1L).withIgnoreEos(true));
            assertEquals(12, got.size());
            assertEquals(NUM_BLOCKS, engine.cacheInfo().freeBlocks(), scheduler + ", " + mode + ": every block is free again");
            engine.close();
            engine = null;
        }
    }
}
