package dev.rollout.trainer.optim;

import ai.djl.ndarray.NDArray;
import java.util.List;

/** DJL accumulates gradients across backward passes and never resets them: the trainer does, after each optimizer step. */
public final class Gradients {
    private Gradients() {}

    public static void zero(List<NDArray> parameters) {
        for (NDArray p : parameters) {
            if (p.hasGradient()) {
                NDArray g = p.getGradient();
                g.subi(g);
                g.close();
            }
        }
    }
}
