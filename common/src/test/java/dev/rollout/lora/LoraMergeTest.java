package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.weights.HostTensor;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A merge makes new matrices for the targeted fused projections only and shares every other tensor with its base. */
class LoraMergeTest {
    /** q_proj and gate_proj: q/k/v and gate/up are merged, o and down are not. */
    private static final LoraConfig Q_GATE = new LoraConfig(2, 4, 0, Set.of(LoraTarget.Q_PROJ, LoraTarget.GATE_PROJ), false);
    private static final LoraConfig ALL = new LoraConfig(4, 8, 0, EnumSet.allOf(LoraTarget.class), false);
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    /** llama unties its LM head, qwen2 has q/k/v bias, qwen3 q/k norms: every kind of tensor a merge must share. */
    static Stream<ModelConfig> models() {
        return Stream.of(TestModels.llama(), TestModels.qwen2(), TestModels.qwen3());
    }

    private static ModelWeights base(ModelConfig c, long seed) {
        return ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, seed, 0.2)), manager);
    }

    private static LoraAdapter adapter(LoraConfig lora, ModelConfig c, long seed) {
        return LoraAdapter.fromHost(lora, c, TestAdapters.random(lora, c, seed, 0.3), manager);
    }

    @ParameterizedTest
    @MethodSource("models")
    void untargetedTensorsAreTheBasesOwnAndTargetedOnesAreNew(ModelConfig c) {
        try (ModelWeights w = base(c, 1); LoraAdapter a = adapter(Q_GATE, c, 2); ModelWeights merged = LoraMerge.merge(w, a, manager)) {
            assertSame(w, merged.base());
            assertSame(w.embed(), merged.embed());
            assertSame(w.norm(), merged.norm());
            assertSame(w.lmHead(), merged.lmHead());
            for (int i = 0; i < c.numLayers(); i++) {
                ModelWeights.Layer b = w.layers().get(i);
                ModelWeights.Layer m = merged.layers().get(i);
                assertSame(b.inputNorm(), m.inputNorm());
                assertSame(b.qkvBias(), m.qkvBias());
                assertSame(b.qNorm(), m.qNorm());
                assertSame(b.kNorm(), m.kNorm());
                assertSame(b.o(), m.o());
                assertSame(b.postNorm(), m.postNorm());
                assertSame(b.down(), m.down());
                assertNotSame(b.qkv(), m.qkv());
                assertNotSame(b.gateUp(), m.gateUp());
            }
            long targeted = w.layers().stream().mapToLong(l -> l.qkv().size() + l.gateUp().size()).sum() * 4;
            assertEquals(targeted, merged.ownedByteSize());
            assertEquals(w.byteSize(), merged.byteSize());
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void mergedWeightsAreTheBasePlusScaledBA(ModelConfig c) {
        // all of a fused projection, its first module only, a middle one left out (PEFT's default q/v), later ones only
        List<LoraConfig> configs = List.of(ALL, Q_GATE, targets(LoraTarget.Q_PROJ, LoraTarget.V_PROJ),
                targets(LoraTarget.K_PROJ, LoraTarget.V_PROJ, LoraTarget.UP_PROJ, LoraTarget.O_PROJ));
        List<HostTensor> host = TestModels.randomWeights(c, 3, 0.2);
        for (LoraConfig lora : configs) {
            Map<String, HostTensor> tensors = TestAdapters.random(lora, c, 4, 0.3);
            try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager);
                 LoraAdapter a = LoraAdapter.fromHost(lora, c, tensors, manager);
                 ModelWeights merged = LoraMerge.merge(w, a, manager)) {
                List<HostTensor> expected = TestAdapters.mergeByHand(host, lora, tensors);
                List<HostTensor> got = merged.toHost();
                assertEquals(expected.size(), got.size());
                for (int i = 0; i < expected.size(); i++) {
                    assertArrayEquals(expected.get(i).toFloats(), got.get(i).toFloats(), 1e-5f,
                            lora.targetModuleNames() + ": " + expected.get(i).name());
                }
            }
        }
    }

    private static LoraConfig targets(LoraTarget... targets) {
        return new LoraConfig(3, 6, 0, Set.of(targets), false);
    }

    @Test
    void closingAMergeFreesItsOwnMatricesAndNoneOfTheBases() {
        ModelConfig c = TestModels.llama();
        try (ModelWeights w = base(c, 5); LoraAdapter a = adapter(Q_GATE, c, 6)) {
            float[] before = w.layers().get(0).qkv().toFloatArray();
            ModelWeights merged = LoraMerge.merge(w, a, manager);
            NDArray mergedQkv = merged.layers().get(0).qkv();
            merged.close();
            assertTrue(mergedQkv.isReleased());
            assertTrue(merged.layers().get(1).gateUp().isReleased());
            for (NDArray p : w.parameters()) {
                assertFalse(p.isReleased());
            }
            assertArrayEquals(before, w.layers().get(0).qkv().toFloatArray());
        }
    }

    @Test
    void mergingIntoMergedWeightsIsRefused() {
        ModelConfig c = TestModels.qwen2();
        try (ModelWeights w = base(c, 7); LoraAdapter a = adapter(ALL, c, 8); ModelWeights merged = LoraMerge.merge(w, a, manager)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraMerge.merge(merged, a, manager));
            assertTrue(e.getMessage().contains("already merged"), e.getMessage());
        }
    }

    @Test
    void releaseForFreesWhatTheNextWeightsDoNotShare() {
        ModelConfig c = TestModels.llama();
        ModelWeights base = base(c, 9);
        ModelWeights other = base(c, 10);
        try (LoraAdapter a = adapter(ALL, c, 11); LoraAdapter b = adapter(ALL, c, 12)) {
            ModelWeights first = LoraMerge.merge(base, a, manager);
            base.releaseFor(first); // from the base to a merge of it: nothing
            assertFalse(base.embed().isReleased());
            ModelWeights second = LoraMerge.merge(base, b, manager);
            first.releaseFor(second); // between two merges of one base: the old merge's matrices only
            assertTrue(first.layers().get(0).down().isReleased());
            assertFalse(base.layers().get(0).down().isReleased());
            assertFalse(second.layers().get(0).down().isReleased());
            second.releaseFor(other); // to unrelated weights: the merge and its base
            assertTrue(second.layers().get(0).o().isReleased());
            assertTrue(base.embed().isReleased());
            assertFalse(other.embed().isReleased());
            other.releaseFor(other); // to the same weights: nothing
            assertFalse(other.embed().isReleased());
        } finally {
            other.close();
        }
    }
}
