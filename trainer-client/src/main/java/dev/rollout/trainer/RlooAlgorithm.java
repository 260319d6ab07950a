package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.CompletionMask;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.RlooLoss;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.reward.RewardScores;
import java.util.List;
import java.util.Map;

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
    public boolean usesSamplingCorrection() {
        return false;
    }

    @Override
    public boolean needsOldLogProbs() {
        return true;
    }

    @Override
    public Advantages advantages(RewardScores scores, GenerationBatch batch, Map<String, Double> metrics) {
        double[] rewards = scores.total();
        List<Double> clip = config.rewardClipRange();
        if (clip != null) {
            rewards = Advantages.clip(rewards, clip.get(0), clip.get(1));
        }
        double[] kl = null;
        if (config.beta() != 0) {
            kl = new double[rewards.length];
            double klSum = 0;
            double tokens = 0;
            for (MicroBatch mb : batch.micro) {
                double[] part = Advantages.sequenceKl(mb.oldLogProbs, mb.refLogProbs, mb.mask);
                for (int i = 0; i < part.length; i++) {
                    kl[mb.indices[i]] = part[i];
                    klSum += part[i];
                }
                tokens += CompletionMask.activeTokens(mb.mask);
            }
            // TRL logs the per-token KL (old − ref) averaged over the generation batch's active tokens
            metrics.put("kl", klSum / Math.max(tokens, 1.0));
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
