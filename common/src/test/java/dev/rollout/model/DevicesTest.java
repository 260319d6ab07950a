package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void aCudaFlavourOrAnNvidiaDriverMakesACpuFallbackSomethingToWarnAbout() {
        assertTrue(Devices.gpuExpected("cu128", false).contains("cu128"));
        assertTrue(Devices.gpuExpected(null, true).contains("NVIDIA driver"));
        assertNull(Devices.gpuExpected("cpu", false));
        assertNull(Devices.gpuExpected(null, false));
    }

    @Test
    void cpuIsTheCpuAndAnUnknownNameIsRefused() {
        assertEquals(Device.cpu(), Devices.parse("cpu"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.parse("tpu"));
        assertTrue(e.getMessage().contains("auto, cpu or gpu"), e.getMessage());
    }
}
