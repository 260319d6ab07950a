package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TorchThreadsTest {
    @AfterEach
    void clear() {
        System.clearProperty(TorchThreads.PROPERTY);
    }

    @Test
    void propertyDecidesTheThreadCount() {
        System.setProperty(TorchThreads.PROPERTY, "3");
        assertEquals(3, TorchThreads.decide());
    }

    @Test
    void withoutPropertyOneThreadUnlessWaitPolicyIsPassive() {
        int expected = "passive".equalsIgnoreCase(System.getenv("OMP_WAIT_POLICY"))
                ? Runtime.getRuntime().availableProcessors() : 1;
        assertEquals(expected, TorchThreads.decide());
    }

    @Test
    void nonPositiveOrNonNumericPropertyIsRefused() {
        System.setProperty(TorchThreads.PROPERTY, "0");
        assertThrows(IllegalArgumentException.class, TorchThreads::decide);
        System.setProperty(TorchThreads.PROPERTY, "two");
        assertThrows(IllegalArgumentException.class, TorchThreads::decide);
    }
}
