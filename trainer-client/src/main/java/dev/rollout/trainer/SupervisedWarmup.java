package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.model.Scalars;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.optim.GradClip;
import dev.rollout.trainer.optim.Gradients;
import java.util.List;

/**
 * Supervised fine-tuning steps (cross-entropy on the answer tokens only): a short warm-up that teaches a randomly
 * initialised policy the task's format, so that reinforcement learning starts from completions a reward can tell
 * apart instead of noise.
 */
public final class SupervisedWarmup {
    private final Policy policy;
    private final AdamW optimizer;
    private final double maxGradNorm;

    public SupervisedWarmup(Policy policy, AdamW optimizer, double maxGradNorm) {
        this.policy = policy;
        this.optimizer = optimizer;
        this.maxGradNorm = maxGradNorm;
    }

    /** One optimizer step on these (prompt, target) rows; returns the mean negative log-likelihood per target token. */
    public double step(List<Policy.Sequence> rows, double learningRate, NDManager manager) {
        double loss;
        try (NDManager scope = manager.newSubManager();
             GradientCollector collector = manager.getEngine().newGradientCollector()) {
            NDArray nll = loss(policy, rows, scope);
            collector.backward(nll);
            loss = nll.getFloat();
        }
        GradClip.clipGlobalNorm(policy.model().weights().parameters(), maxGradNorm);
        optimizer.step(learningRate);
        Gradients.zero(policy.model().weights().parameters());
        return loss;
    }

    /** The mean negative log-likelihood per target token, differentiable; its tensors live in {@code scope}. */
    static NDArray loss(Policy policy, List<Policy.Sequence> rows, NDManager scope) {
        TokenLogProbs lp = policy.completionLogProbs(rows, 1.0, scope);
        int width = (int) lp.logProbs().getShape().get(1);
        float[] mask = new float[rows.size() * width];
        int tokens = 0;
        for (int r = 0; r < rows.size(); r++) {
            for (int t = 0; t < rows.get(r).completionIds().length; t++) {
                mask[r * width + t] = 1f;
                tokens++;
            }
        }
        return Scalars.div(lp.logProbs().mul(scope.create(mask, lp.logProbs().getShape())).sum().neg(), Math.max(tokens, 1));
    }
}
