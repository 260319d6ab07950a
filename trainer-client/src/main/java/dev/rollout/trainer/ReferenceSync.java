package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;

/**
 * TRL's {@code sync_ref_model} (TR-DPO): every {@code ref_model_sync_steps} optimizer steps the reference moves
 * towards the policy, {@code ref ← α·policy + (1 − α)·ref} with α = {@code ref_model_mixup_alpha}, in place.
 */
final class ReferenceSync {
    private ReferenceSync() {
    }

    /** Whether the reference is synchronized after optimizer step {@code step} (counted from 1), as TRL's callback. */
    static boolean due(int step, int syncSteps) {
        return step % syncSteps == 0;
    }

    /** Mixes each reference tensor with the policy tensor at the same position (both from the same architecture). */
    static void mix(List<NDArray> reference, List<NDArray> policy, double alpha) {
        if (reference.size() != policy.size()) {
            throw new IllegalArgumentException("the reference has " + reference.size() + " tensors, the policy "
                    + policy.size());
        }
        boolean mode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (int i = 0; i < reference.size(); i++) {
                try (NDArray detached = policy.get(i).stopGradient(); NDArray scaled = detached.mul((float) alpha)) {
                    reference.get(i).muli((float) (1 - alpha)).addi(scaled);
                }
            }
        } finally {
            JniUtils.setGradMode(mode);
        }
    }
}
