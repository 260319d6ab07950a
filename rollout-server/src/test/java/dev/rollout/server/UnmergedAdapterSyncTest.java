package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import dev.rollout.server.sync.AdapterServing;
import dev.rollout.weights.HostTensor;
import org.junit.jupiter.api.Test;

/** {@code --adapter-serving unmerged}: the base is the served weights, held once, and the adapter is added in the forward. */
class UnmergedAdapterSyncTest extends AdapterSyncTest {
    @Override
    AdapterServing serving() {
        return AdapterServing.UNMERGED;
    }

    @Test
    void adapterSyncsServeTheBaseTheServerHoldsInsteadOfACopy() throws Exception {
        CausalLM model = server.loaded.served().model();
        ModelWeights before = model.weights();
        adapterStream(1, adapter(3), spec(LORA), "").send(server.async());
        LoraAdapter first = model.adapter();
        adapterStream(2, adapter(4), spec(LORA), "").send(server.async());
        assertSame(before, model.weights());
        assertNotSame(first, model.adapter());
        assertTrue(first.parameters().stream().allMatch(NDArray::isReleased), "the previous adapter is freed");
        assertWeightsClose(base, model.weights().toHost().stream().map(HostTensor::toFloats).toList(), 0);
    }
}
