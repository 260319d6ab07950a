package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplying or dividing a tensor by a constant, safely under autograd. Use these instead of DJL's
 * {@code x.mul(Number)} and {@code x.div(Number)} on anything that may carry a gradient.
 *
 * <p>On CPU, DJL wraps the number in a tensor over a Java direct buffer and closes that tensor as soon as the op
 * returns. Autograd saves it for backward (d(x·c)/dx = c), so the buffer is still in use. The GC can then free the
 * buffer between forward and backward, and backward reads freed memory: gradients came out as 0 or ±inf in a test. In
 * training it was rarer and silent: the same seed gave different runs, more often under G1 than Serial GC. The
 * constants made here come from libtorch's own allocator, and libtorch keeps them alive as long as its graph needs them.
 */
public final class Scalars {
    private Scalars() {}

    /** x · c, with c rounded to fp32 as DJL's own overload does. */
    public static NDArray mul(NDArray x, double c) {
        return x.mul(of(x, c));
    }

    /** x / c, with c rounded to fp32 as DJL's own overload does. */
    public static NDArray div(NDArray x, double c) {
        return x.div(of(x, c));
    }

    /** A 0-d fp32 tensor, which PyTorch promotes like a plain number: x keeps its dtype. */
    private static NDArray of(NDArray like, double c) {
        return like.getManager().full(new Shape(), (float) c, DataType.FLOAT32);
    }
}
