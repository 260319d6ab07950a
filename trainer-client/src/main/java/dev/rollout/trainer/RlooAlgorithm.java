package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.RlooLoss;
import dev.rollout.trainer.loss.TokenLogProbs;

/**
 * RLOO: the KL to the reference folded into the reward, leave-one-out advantages, a sequence-level clipped loss. The
 * old log-probs are always needed: the sequence ratio and the KL are taken against them.
 */
final class RlooAlgorithm implements Algorithm {
    private final TrainerConfig config;

    RlooAlgorithm(TrainerConfig config) {
        this.config = config;
    }

    @Override
    public boolean needsOldLogProbs() {
        return true;
    }

    @Override
    public Advantages advantages(double[] rewards, GenerationBatch batch) {
        double[] kl = null;
        if (config.beta() != 0) {
            kl = new double[rewards.length];
            for (MicroBatch mb : batch.micro) {
                double[] part = Advantages.sequenceKl(mb.oldLogProbs, mb.refLogProbs, mb.mask);
                System.arraycopy(part, 0, kl, mb.offset, part.length);
            }
        }
        return Advantages.rloo(rewards, kl, config.beta(), config.numGenerations(), config.normalizeAdvantages());
    }

    @Override
    public LossResult loss(MicroBatch mb, TokenLogProbs lp, NDArray advantages, GenerationBatch batch,
                           StepMetrics metrics) {
        NDArray oldSums = mb.oldLogProbs == null ? null : mb.oldLogProbs.mul(mb.mask).sum(new int[] {1});
        return RlooLoss.compute(lp.logProbs(), oldSums, advantages, mb.mask, lp.entropy(), config.epsilon(),
                config.epsilonHigh(), config.gradientAccumulationSteps());
    }
}
