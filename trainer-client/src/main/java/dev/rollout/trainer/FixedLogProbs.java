package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.trainer.GenerationBatch.MicroBatch;

/**
 * The step's phase "reference and old log-probs": what stays fixed through a generation's updates, computed before
 * the first, without a gradient, kept on the generation batch's manager.
 */
final class FixedLogProbs {
    private FixedLogProbs() {
    }

    /**
     * @param policy     the policy before the update, for the old log-probs; null when the loss does not need them
     * @param reference  the reference model, when β ≠ 0; else null
     * @param correction the policy, for {@link MicroBatch#correctionLogProbs}; null when they are not needed
     */
    static void compute(GenerationBatch batch, Policy policy, Policy reference, Policy correction, double temperature) {
        if (policy == null && reference == null && correction == null) {
            return;
        }
        boolean mode = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            for (MicroBatch mb : batch.micro) {
                if (policy != null) {
                    mb.oldLogProbs = kept(policy, mb, batch, temperature);
                }
                if (correction != null) {
                    mb.correctionLogProbs = kept(correction, mb, batch, temperature);
                }
                if (reference != null) {
                    mb.refLogProbs = kept(reference, mb, batch, temperature);
                }
            }
        } finally {
            JniUtils.setGradMode(mode);
        }
    }

    /** The micro-batch's log-probs under {@code model}, kept as long as the batch; the forward's temporaries freed. */
    private static NDArray kept(Policy model, MicroBatch mb, GenerationBatch batch, double temperature) {
        try (NDManager forward = batch.scope().newSubManager()) {
            NDArray logProbs = model.completionLogProbs(mb.rows, temperature, forward).logProbs();
            logProbs.attach(batch.scope());
            return logProbs;
        }
    }
}
