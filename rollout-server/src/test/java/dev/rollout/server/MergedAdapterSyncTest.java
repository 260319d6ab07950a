package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.lora.TestAdapters;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.server.sync.AdapterServing;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code --adapter-serving merged}: each adapter version is merged into new targeted matrices from the kept base,
 * which shares every other tensor; the engine's swap frees the previous version's matrices, never the base's.
 */
class MergedAdapterSyncTest extends AdapterSyncTest {
    @Override
    AdapterServing serving() {
        return AdapterServing.MERGED;
    }

    private CausalLM model() {
        return server.loaded.served().model();
    }

    /** The fused projections an all-linear adapter replaces, per layer. */
    private static List<NDArray> targeted(ModelWeights w) {
        List<NDArray> out = new ArrayList<>();
        w.layers().forEach(l -> out.addAll(List.of(l.qkv(), l.o(), l.gateUp(), l.down())));
        return out;
    }

    @Test
    void untouchedTensorsAreTheBasesOwnAndTheBaseIsNeverWritten() throws Exception {
        ModelWeights kept = model().weights();
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        ModelWeights served = model().weights();
        assertSame(kept, served.base());
        assertNull(model().adapter(), "a merged adapter is not added again in the forward");
        assertSame(kept.embed(), served.embed());
        assertSame(kept.norm(), served.norm());
        assertSame(kept.lmHead(), served.lmHead());
        for (int i = 0; i < kept.layers().size(); i++) {
            assertSame(kept.layers().get(i).inputNorm(), served.layers().get(i).inputNorm());
            assertSame(kept.layers().get(i).postNorm(), served.layers().get(i).postNorm());
            assertNotSame(kept.layers().get(i).qkv(), served.layers().get(i).qkv());
        }
        assertEquals(targeted(kept).stream().mapToLong(a -> a.size() * 4).sum(), served.ownedByteSize());
        assertWeightsClose(base, kept.toHost().stream().map(HostTensor::toFloats).toList(), 0);
    }

    @Test
    void anOldVersionsMergedMatricesAreFreedAndTheBasesAreNot() throws Exception {
        ModelWeights kept = model().weights();
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        ModelWeights first = model().weights();
        adapterStream(2, adapter(4), spec(LORA), "").send(server.async());
        assertNotSame(first, model().weights());
        assertSame(kept, model().weights().base());
        assertTrue(targeted(first).stream().allMatch(NDArray::isReleased), "version 1's merged matrices are freed");
        assertTrue(kept.parameters().stream().noneMatch(NDArray::isReleased), "no tensor of the base is freed");
        assertTrue(model().weights().parameters().stream().noneMatch(NDArray::isReleased));
    }

    @Test
    void aFullSyncFreesTheOldBaseAndTheNextAdapterMergesFromTheNewOne() throws Exception {
        ModelWeights kept = model().weights();
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        ModelWeights merged = model().weights();
        List<HostTensor> other = new ArrayList<>(TestServer.randomWeights(server.config, 2).values());
        WeightStream.of(2, false, other, CHUNK).send(server.async());
        ModelWeights newBase = model().weights();
        assertNull(newBase.base());
        assertTrue(targeted(merged).stream().allMatch(NDArray::isReleased));
        assertTrue(kept.parameters().stream().allMatch(NDArray::isReleased), "the replaced base is freed");
        Map<String, HostTensor> next = adapter(5);
        adapterStream(3, next, spec(LORA), "").send(server.async());
        assertSame(newBase, model().weights().base());
        assertWeightsClose(TestAdapters.mergeByHand(other, LORA, next), servedWeights(), 1e-5);
    }

    @ParameterizedTest
    @EnumSource(InflightWeightUpdate.class)
    void theMergeTakesTheSamePathForEveryInflightMode(InflightWeightUpdate mode) throws Exception {
        try (TestServer s = TestServer.start(ServerOptions.defaults(0).withAdapterServing(serving()).withInflightWeightUpdate(mode))) {
            ModelWeights kept = s.loaded.served().model().weights();
            CompletableFuture<GenerateBatchResponse> generation = new CompletableFuture<>();
            s.async().generateBatch(TestServer.greedy(48, TestServer.tokens(3, 4, 5)).toBuilder()
                    .setSampling(SamplingParams.newBuilder().setN(4).setMaxTokens(48).setSeed(1).setIgnoreEos(true)).build(),
                    WeightSyncTest.observerOf(generation));
            adapterStream(1, adapter(3), spec(LORA), "").send(s.async());
            ModelWeights first = s.loaded.served().model().weights();
            Map<String, HostTensor> second = adapter(4);
            adapterStream(2, second, spec(LORA), "").send(s.async());
            assertEquals(4, generation.get(60, TimeUnit.SECONDS).getCompletionsCount());

            assertSame(kept, s.loaded.served().model().weights().base());
            assertTrue(targeted(first).stream().allMatch(NDArray::isReleased));
            assertFalse(kept.parameters().stream().anyMatch(NDArray::isReleased));
            assertWeightsClose(TestAdapters.mergeByHand(base, LORA, second), servedWeights(s), 1e-5);
        }
    }
}
