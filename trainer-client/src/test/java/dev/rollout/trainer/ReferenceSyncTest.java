package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReferenceSyncTest {

    @Test
    void mixesEachReferenceTensorTowardsThePolicyByAlpha() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray ref = manager.create(new float[] {1f, 2f, -4f});
            NDArray policy = manager.create(new float[] {3f, 0f, 4f});
            policy.setRequiresGradient(true);
            ReferenceSync.mix(List.of(ref), List.of(policy), 0.6);
            // TR-DPO: ref = α·policy + (1 − α)·ref
            assertArrayEquals(new float[] {0.6f * 3 + 0.4f * 1, 0.4f * 2, 0.6f * 4 + 0.4f * -4}, ref.toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {3f, 0f, 4f}, policy.toFloatArray(), "the policy is left as it is");
        }
    }

    @Test
    void isDueEveryRefModelSyncStepsOptimizerSteps() {
        assertFalse(ReferenceSync.due(1, 2));
        assertTrue(ReferenceSync.due(2, 2));
        assertTrue(ReferenceSync.due(4, 2));
        assertTrue(ReferenceSync.due(1, 1));
    }
}
