package dev.rollout.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with decoupled weight decay, step for step as {@code torch.optim.AdamW} (no amsgrad). Written here rather
 * than taken from DJL because a checkpoint must save and restore the moment tensors and the step count, which DJL's
 * optimizer keeps private.
 */
public final class AdamW implements AutoCloseable {
    private final List<NDArray> parameters;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final NDManager manager;
    private final List<NDArray> firstMoments = new ArrayList<>();
    private final List<NDArray> secondMoments = new ArrayList<>();
    private long step;

    public AdamW(List<NDArray> parameters, double beta1, double beta2, double epsilon, double weightDecay) {
        if (parameters.isEmpty()) {
            throw new IllegalArgumentException("AdamW needs at least one parameter");
        }
        this.parameters = List.copyOf(parameters);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        this.manager = parameters.get(0).getManager().getEngine().newBaseManager(parameters.get(0).getDevice());
        for (NDArray p : parameters) {
            firstMoments.add(manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice()));
            secondMoments.add(manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice()));
        }
    }

    /** One update of every parameter that has a gradient, at learning rate {@code lr}. Gradients are left as they are. */
    public void step(double lr) {
        step++;
        double bias1 = 1 - Math.pow(beta1, step);
        double bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(false); // in-place updates of leaves must not be recorded
        try (NDScope scope = new NDScope()) {
            for (int i = 0; i < parameters.size(); i++) {
                NDArray p = parameters.get(i);
                if (!p.hasGradient()) {
                    continue;
                }
                NDArray g = p.getGradient();
                NDArray m = firstMoments.get(i);
                NDArray v = secondMoments.get(i);
                if (weightDecay != 0) {
                    p.muli((float) (1 - lr * weightDecay));
                }
                m.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                v.muli((float) beta2).addi(g.square().mul((float) (1 - beta2)));
                NDArray denominator = v.sqrt().div((float) bias2Sqrt).add((float) epsilon);
                p.subi(m.div(denominator).mul((float) (lr / bias1)));
            }
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /** Updates taken so far (PyTorch's {@code state["step"]}). */
    public long stepCount() {
        return step;
    }

    /** The first-moment (mean) estimates, one per parameter in order; live tensors, for checkpoints. */
    public List<NDArray> firstMoments() {
        return List.copyOf(firstMoments);
    }

    /** The second-moment (uncentred variance) estimates, one per parameter in order; live tensors, for checkpoints. */
    public List<NDArray> secondMoments() {
        return List.copyOf(secondMoments);
    }

    /** Restores a saved state: the step count and both moments (copied in; shapes must match the parameters). */
    public void restore(long stepCount, List<float[]> first, List<float[]> second) {
        if (first.size() != parameters.size() || second.size() != parameters.size()) {
            throw new IllegalArgumentException("optimizer state holds " + first.size() + "/" + second.size()
                    + " moment tensors for " + parameters.size() + " parameters");
        }
        for (int i = 0; i < parameters.size(); i++) {
            copyInto(firstMoments.get(i), first.get(i), i);
            copyInto(secondMoments.get(i), second.get(i), i);
        }
        this.step = stepCount;
    }

    private static void copyInto(NDArray target, float[] values, int index) {
        if (values.length != target.size()) {
            throw new IllegalArgumentException("moment " + index + " has " + values.length + " values, the parameter "
                    + target.size());
        }
        target.set(java.nio.FloatBuffer.wrap(values));
    }

    @Override
    public void close() {
        manager.close();
    }
}
