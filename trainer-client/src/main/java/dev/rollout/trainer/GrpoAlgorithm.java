package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.SamplingCorrection;
import dev.rollout.trainer.loss.TokenLogProbs;

/** GRPO: group-normalised advantages, a per-token clipped loss weighted by the sampler correction, β·k3 per token. */
final class GrpoAlgorithm implements Algorithm {
    private final TrainerConfig config;
    private final PolicyLoss.Settings settings;

    GrpoAlgorithm(TrainerConfig config) {
        this.config = config;
        this.settings = PolicyLoss.Settings.from(config);
    }

    @Override
    public boolean needsOldLogProbs() {
        return false;
    }

    @Override
    public Advantages advantages(double[] rewards, GenerationBatch batch) {
        return Advantages.grpo(rewards, config.numGenerations(), config.scaleRewards());
    }

    @Override
    public LossResult loss(MicroBatch mb, TokenLogProbs lp, NDArray advantages, GenerationBatch batch,
                           StepMetrics metrics) {
        NDArray oldOrCurrent = mb.oldLogProbs != null ? mb.oldLogProbs : lp.logProbs().stopGradient();
        SamplingCorrection correction = SamplingCorrection.compute(oldOrCurrent, mb.samplingLogProbs, mb.mask,
                config.samplingCorrectionMode(), config.samplingCorrectionClipMin(), config.samplingCorrectionClipMax());
        metrics.add(correction.stats());
        NDArray samplingRatio = config.samplingCorrection() ? correction.ratio() : null;
        return PolicyLoss.compute(new PolicyLoss.Batch(lp.logProbs(), mb.oldLogProbs, mb.refLogProbs, advantages,
                mb.mask, samplingRatio, lp.entropy()), settings, batch.activeTokens, config.gradientAccumulationSteps());
    }
}
