package dev.rollout.server.sync;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.TestAdapters;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.weights.HostTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What an adapter sync whose swap fails leaves behind: {@link AdapterSync#prepare} builds beside the serving weights
 * without touching them, and {@link AdapterSync#discard} frees what it built and nothing that serves.
 */
class AdapterSyncDiscardTest {
    private static final ModelConfig MODEL = TestModels.llama();
    private static final LoraConfig LORA = new LoraConfig(2, 4, 0, LoraConfig.parseTargets(List.of("q_proj", "down_proj")), false);
    private NDManager manager;
    private ModelWeights serving;
    private CausalLM model;

    @BeforeEach
    void start() {
        manager = NDManager.newBaseManager(Device.cpu());
        serving = ModelWeights.fromHost(MODEL, TestModels.mapOf(TestModels.randomWeights(MODEL, 1, 0.2)), manager);
        model = new CausalLM(MODEL, serving);
    }

    @AfterEach
    void stop() {
        model.close();
        manager.close();
    }

    private static SyncWeightsHeader header(boolean partial) {
        return SyncWeightsHeader.newBuilder().setVersion(1).setPartial(partial).setLora(LoraAdapterSpec.newBuilder()
                .setR(LORA.r()).setLoraAlpha((float) LORA.alpha()).addAllTargetModules(LORA.targetModuleNames())).build();
    }

    private void assertServingUntouched() {
        assertSame(serving, model.weights());
        assertNull(model.adapter());
        assertTrue(serving.parameters().stream().noneMatch(NDArray::isReleased), "a tensor of the serving weights was freed");
    }

    @Test
    void aDiscardedMergeFreesItsMatricesAndNoneOfTheBases() throws Exception {
        AdapterSync sync = new AdapterSync(model, manager, AdapterServing.MERGED);
        AdapterSync.Prepared p = sync.prepare(header(true), TestAdapters.random(LORA, MODEL, 2, 0.3));
        assertSame(serving, p.base());
        assertSame(serving, p.weights().base());
        assertNull(p.adapter());
        assertServingUntouched();
        sync.discard(p);
        assertTrue(p.weights().layers().get(0).qkv().isReleased());
        assertTrue(p.weights().layers().get(1).down().isReleased());
        assertServingUntouched();
    }

    @Test
    void aDiscardedFullSyncFreesTheSentBaseAndItsMerge() throws Exception {
        AdapterSync sync = new AdapterSync(model, manager, AdapterServing.MERGED);
        Map<String, HostTensor> tensors = new LinkedHashMap<>(TestModels.mapOf(TestModels.randomWeights(MODEL, 3, 0.2)));
        tensors.putAll(TestAdapters.random(LORA, MODEL, 4, 0.3));
        AdapterSync.Prepared p = sync.prepare(header(false), tensors);
        assertNotSame(serving, p.base());
        assertSame(p.base(), p.weights().base());
        sync.discard(p);
        assertTrue(p.base().parameters().stream().allMatch(NDArray::isReleased), "the sent base is freed");
        assertTrue(p.weights().layers().get(0).qkv().isReleased());
        assertServingUntouched();
    }

    @Test
    void aDiscardedUnmergedAdapterIsFreedAndTheBaseServesOn() throws Exception {
        AdapterSync sync = new AdapterSync(model, manager, AdapterServing.UNMERGED);
        AdapterSync.Prepared p = sync.prepare(header(true), TestAdapters.random(LORA, MODEL, 5, 0.3));
        assertSame(serving, p.weights());
        assertNotNull(p.adapter());
        sync.discard(p);
        assertTrue(p.adapter().parameters().stream().allMatch(NDArray::isReleased));
        assertServingUntouched();
    }
}
