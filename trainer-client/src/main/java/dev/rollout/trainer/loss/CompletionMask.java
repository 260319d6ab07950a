package dev.rollout.trainer.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Which completion positions count in the loss: the first {@code length} tokens of each row of a right-padded batch,
 * and none of a truncated completion's when {@code mask_truncated_completions} is on (DAPO: a completion cut at
 * max_completion_length has no final answer, so its reward says little about its tokens).
 */
public final class CompletionMask {
    private CompletionMask() {
    }

    /**
     * @param lengths   tokens in each completion (EOS or stop token included)
     * @param truncated whether each completion ended without EOS or a stop token
     * @param width     T, the padded length
     * @return fp32 [B, T] of 0 and 1
     */
    public static NDArray build(NDManager manager, int[] lengths, boolean[] truncated, int width,
            boolean maskTruncated) {
        if (lengths.length != truncated.length) {
            throw new IllegalArgumentException(lengths.length + " lengths but " + truncated.length + " truncation flags");
        }
        float[] mask = new float[lengths.length * width];
        for (int b = 0; b < lengths.length; b++) {
            if (lengths[b] < 0 || lengths[b] > width) {
                throw new IllegalArgumentException("completion " + b + " has length " + lengths[b] + ", outside [0, " + width + "]");
            }
            if (maskTruncated && truncated[b]) {
                continue;
            }
            for (int t = 0; t < lengths[b]; t++) {
                mask[b * width + t] = 1f;
            }
        }
        return manager.create(mask, new Shape(lengths.length, width));
    }

    /** Active tokens in a mask: DAPO's normaliser when summed over the whole generation batch. */
    public static double activeTokens(NDArray mask) {
        double n = 0;
        for (float v : mask.toFloatArray()) {
            n += v;
        }
        return n;
    }
}
