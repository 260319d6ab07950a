package dev.rollout.trainer.optim;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_}: the gradients of all parameters together
 * are scaled by min(1, max_norm / (‖g‖ + 1e-6)). DJL has no such operation.
 */
public final class GradClip {
    private GradClip() {
    }

    /**
     * Scales the parameters' gradients in place so that their global L2 norm is at most {@code maxNorm}; a
     * {@code maxNorm} of 0 or less only measures.
     *
     * @return the global norm before clipping (what TRL logs as {@code grad_norm})
     */
    public static double clipGlobalNorm(List<NDArray> parameters, double maxNorm) {
        double squares = 0;
        for (NDArray parameter : parameters) {
            if (parameter.hasGradient()) {
                try (NDArray grad = parameter.getGradient(); NDArray sq = grad.square(); NDArray sum = sq.sum()) {
                    squares += sum.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
                }
            }
        }
        double norm = Math.sqrt(squares);
        double coefficient = maxNorm / (norm + 1e-6);
        if (maxNorm > 0 && coefficient < 1.0) {
            for (NDArray parameter : parameters) {
                if (parameter.hasGradient()) {
                    try (NDArray grad = parameter.getGradient()) {
                        grad.muli((float) coefficient);
                    }
                }
            }
        }
        return norm;
    }
}
