package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The engine's contract around generation: stop conditions, callbacks, metrics, cache sizing. */
class EngineTest {
    private static final List<int[]> PROMPTS = TestEngines.prompts(6, 4, 10, 81);

    @Test
    void aStopTokenEndsTheCompletionAndStaysInIt() {
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            List<CompletionResult> free = TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(12).withIgnoreEos(true));
            for (CompletionResult c : free) {
                int stop = c.tokenIds()[3];
                CompletionResult stopped = TestEngines.generate(engine, List.of(PROMPTS.get(c.promptIndex())),
                        SamplingParams.greedy(12).withIgnoreEos(true).withStopTokenIds(stop)).get(0);
                int first = 0;
                while (c.tokenIds()[first] != stop) {
                    first++;
                }
                assertEquals(first + 1, stopped.tokenIds().length);
                assertEquals(stop, stopped.tokenIds()[first]);
                assertEquals(FinishReason.STOP, stopped.finishReason());
            }
        }
    }

    @Test
    void theModelsEosEndsACompletionUnlessIgnored() {
        int eos = TestEngines.CONFIG.eosTokenIds().get(0);
        SamplingParams hot = SamplingParams.defaults(60).withN(8).withSeed(3L).withTemperature(2f);
        try (Engine engine = TestEngines.engine(TestEngines.config(256))) {
            List<CompletionResult> results = TestEngines.generate(engine, PROMPTS.subList(0, 2), hot);
            for (CompletionResult c : results) {
                int[] t = c.tokenIds();
                boolean endsWithEos = t[t.length - 1] == eos;
                assertEquals(endsWithEos ? FinishReason.STOP : FinishReason.LENGTH, c.finishReason());
                for (int i = 0; i < t.length - 1; i++) {
                    assertTrue(t[i] != eos, "EOS only at the end");
                }
            }
            assertTrue(results.stream().anyMatch(c -> c.finishReason() == FinishReason.STOP), "hot sampling meets EOS");
            for (CompletionResult c : TestEngines.generate(engine, PROMPTS.subList(0, 2), hot.withIgnoreEos(true))) {
                assertEquals(60, c.tokenIds().length);
                assertEquals(FinishReason.LENGTH, c.finishReason());
            }
        }
    }

    @Test
    void onCompletionSeesEachCompletionAndTheFutureAllInOrder() {
        List<CompletionResult> seen = new CopyOnWriteArrayList<>();
        try (Engine engine = TestEngines.engine(TestEngines.config(128))) {
            RequestHandle h = engine.submit(new GenerationRequest("cb", PROMPTS,
                    SamplingParams.defaults(8).withN(2).withSeed(1L), seen::add));
            List<CompletionResult> all = TestEngines.await(h);
            assertEquals(12, seen.size());
            for (int i = 0; i < all.size(); i++) {
                assertEquals(i / 2, all.get(i).promptIndex());
                assertEquals(i % 2, all.get(i).sampleIndex());
                assertTrue(seen.contains(all.get(i)));
            }
        }
    }

    @Test
    void metricsCountTokensAndPublishTheCache() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine engine = new Engine(TestEngines.model(), TestEngines.config(128), registry)) {
            List<CompletionResult> results = TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(5).withN(2));
            long generated = results.stream().mapToLong(c -> c.tokenIds().length).sum();
            long prompt = PROMPTS.stream().mapToLong(p -> p.length).sum();
            assertEquals(generated, registry.get("rollout.generated.tokens").counter().count());
            assertEquals(prompt, registry.get("rollout.prompt.tokens").counter().count());
            assertEquals(128, registry.get("rollout.kv.cache.blocks").functionCounter().count());
            assertEquals(0, registry.get("rollout.kv.cache.blocks.used").gauge().value());
            assertEquals(0, registry.get("rollout.running.sequences").gauge().value());
            assertEquals(12, registry.get("rollout.time.to.first.token").timer().count());
            assertEquals(engine.stats().steps(), registry.get("rollout.step").timer().count());
            assertEquals(0, registry.get("rollout.preemptions").counter().count());
            assertEquals(0, registry.get("rollout.weight.version").gauge().value());
            assertEquals(0, registry.get("rollout.prefix.cache.hit.tokens").counter().count());
            assertEquals(0, registry.get("rollout.waiting.sequences").gauge().value());
        }
        assertTrue(registry.getMeters().isEmpty(), "a closed engine leaves the registry to the next one");
    }

    @Test
    void withoutABlockCountTheCacheIsSizedFromMemory() {
        EngineConfig fromMemory = TestEngines.config(0).withMaxMemoryPercent(0.001);
        try (Engine engine = TestEngines.engine(fromMemory)) {
            CacheInfo info = engine.cacheInfo();
            assertTrue(info.numBlocks() > 0);
            assertEquals(info.numBlocks() * TestEngines.CONFIG.kvBytesPerToken() * info.blockSize(), info.bytes());
            assertEquals(1, TestEngines.generate(engine, PROMPTS.subList(0, 1), SamplingParams.greedy(2)).size());
        }
    }

    @Test
    void theActivationEstimateGrowsWithTheBatchTokens() {
        long small = KvCacheSizing.activationPeakBytes(TestEngines.CONFIG, EngineConfig.defaults().withMaxBatchTokens(256), false);
        long large = KvCacheSizing.activationPeakBytes(TestEngines.CONFIG, EngineConfig.defaults().withMaxBatchTokens(2048), false);
        assertTrue(small > 0 && large > 4 * small);
    }

    @Test
    void onTheTensorBackendTheActivationEstimateCountsTheDecodeGatherOfEverySequenceAtFullContext() {
        EngineConfig config = EngineConfig.defaults();
        long java = KvCacheSizing.activationPeakBytes(TestEngines.CONFIG, config, false);
        long tensor = KvCacheSizing.activationPeakBytes(TestEngines.CONFIG, config, true);
        long gatheredKv = 2L * config.maxNumSeqs() * TestEngines.CONFIG.maxPositionEmbeddings() * TestEngines.CONFIG.kvSize() * 4;
        assertTrue(tensor - java >= gatheredKv, "tensor " + tensor + " vs java " + java + ": the K/V gather alone is " + gatheredKv);
    }

    @Test
    void swappedWeightsServeTheNextRequestsAndTheOldOnesAreClosed() {
        ModelWeights before = TestEngines.weights(13);
        ModelWeights after = TestEngines.weights(14);
        List<CompletionResult> expected;
        try (CausalLM reference = new CausalLM(TestEngines.CONFIG, TestEngines.weights(14));
             Engine engine = new Engine(reference, TestEngines.config(128), null)) {
            expected = TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(8));
        }
        try (CausalLM model = new CausalLM(TestEngines.CONFIG, before);
             Engine engine = new Engine(model, TestEngines.config(128), null)) {
            // The swap lands between the first two steps of a long request: the rest of it runs on the new weights.
            java.util.concurrent.atomic.AtomicBoolean swapped = new java.util.concurrent.atomic.AtomicBoolean();
            engine.afterEachStep(() -> {
                if (!swapped.getAndSet(true)) {
                    engine.swapWeights(after, 3, InflightWeightUpdate.KEEP);
                }
            });
            RequestHandle inFlight = engine.submit(new GenerationRequest("long", PROMPTS,
                    SamplingParams.greedy(100).withIgnoreEos(true)));
            TestEngines.await(inFlight).forEach(c -> {
                long[] versions = c.tokenWeightVersions();
                assertEquals(3, versions[versions.length - 1], "the tokens after the swap come from version 3");
                assertEquals(0, c.weightVersion(), "the first token came from the weights serving before the swap");
            });
            assertTrue(before.embed().isReleased());
            List<CompletionResult> got = TestEngines.generate(engine, PROMPTS, SamplingParams.greedy(8));
            for (int i = 0; i < got.size(); i++) {
                assertArrayEquals(expected.get(i).tokenIds(), got.get(i).tokenIds());
                assertEquals(3, got.get(i).weightVersion());
            }
        }
    }
}
