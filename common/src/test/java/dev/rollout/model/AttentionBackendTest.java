package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class AttentionBackendTest {

    @Test
    void parsesTheThreeNamesOfTheFlagAndRefusesOthersNamingThem() {
        assertEquals(AttentionBackend.AUTO, AttentionBackend.parse("auto"));
        assertEquals(AttentionBackend.JAVA, AttentionBackend.parse("java"));
        assertEquals(AttentionBackend.TENSOR, AttentionBackend.parse("TENSOR"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionBackend.parse("cuda"));
        assertTrue(e.getMessage().contains("auto, java or tensor"), e.getMessage());
    }

    @Test
    void autoPicksJavaForACpuCacheWithTheVectorModuleAndTensorIsAlwaysTensor() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
             KvCache cache = new KvCache(TestModels.llama(), 4, 4, manager)) {
            assertNull(AttentionBackend.javaUnavailableReason(cache), "the test JVM runs with the Vector module");
            assertEquals(AttentionBackend.JAVA, AttentionBackend.AUTO.resolve(cache));
            assertEquals(AttentionBackend.JAVA, AttentionBackend.JAVA.resolve(cache));
            assertEquals(AttentionBackend.TENSOR, AttentionBackend.TENSOR.resolve(cache));
        }
    }

    @Test
    void aGpuCacheIsExpectedToRunTheTensorBackend() {
        assertEquals(AttentionBackend.TENSOR, AttentionBackend.AUTO.expectedOn(Device.gpu()));
        assertEquals(AttentionBackend.JAVA, AttentionBackend.AUTO.expectedOn(Device.cpu()));
        assertEquals(AttentionBackend.TENSOR, AttentionBackend.TENSOR.expectedOn(Device.cpu()));
    }
}
