package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.MultiObjectiveAggregation;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.SamplingCorrection;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.reward.RewardScores;
import java.util.Map;

/** GRPO: group-normalised advantages, a per-token clipped loss weighted by the sampler correction, β·k3 per token. */
final class GrpoAlgorithm implements Algorithm {
    private final TrainerConfig config;
    private final PolicyLoss.Settings settings;

    GrpoAlgorithm(TrainerConfig config) {
        this.config = config;
        this.settings = PolicyLoss.Settings.from(config);
    }

    @Override
    public boolean usesSamplingCorrection() {
        return true;
    }

    @Override
    public boolean needsOldLogProbs() {
        return false;
    }

    @Override
    public Advantages advantages(RewardScores scores, GenerationBatch batch, Map<String, Double> metrics) {
        if (config.multiObjectiveAggregation() == MultiObjectiveAggregation.NORMALIZE_THEN_SUM) {
            double[] weights = config.effectiveRewardWeights().stream().mapToDouble(Double::doubleValue).toArray();
            return Advantages.grpoNormalizeThenSum(scores.perFunction(), weights, config.numGenerations());
        }
        return Advantages.grpo(scores.total(), config.numGenerations(), config.scaleRewards());
    }

    @Override
    public LossResult loss(MicroBatch mb, TokenLogProbs lp, NDArray advantages, GenerationBatch batch,
                           StepMetrics metrics) {
        NDArray samplingRatio = null;
        if (config.samplingCorrection()) {
            if (mb.samplingRatio == null) {
                // the first pass over the micro-batch: before any update, the current log-probs are the old ones
                // (from a forward without dropout when the training forward has it)
                NDArray old = mb.oldLogProbs != null ? mb.oldLogProbs
                        : mb.correctionLogProbs != null ? mb.correctionLogProbs : lp.logProbs().stopGradient();
                SamplingCorrection correction = SamplingCorrection.compute(old, mb.samplingLogProbs, mb.mask,
                        config.samplingCorrectionMode(), config.samplingCorrectionClipMin(),
                        config.samplingCorrectionClipMax());
                mb.samplingRatio = correction.ratio();
                mb.samplingRatio.attach(batch.scope()); // kept for the later iterations over this micro-batch
                batch.correctionTotals = batch.correctionTotals.plus(correction.totals());
            }
            samplingRatio = mb.samplingRatio;
        }
        return PolicyLoss.compute(new PolicyLoss.Batch(lp.logProbs(), mb.oldLogProbs, mb.refLogProbs, advantages,
                mb.mask, samplingRatio, lp.entropy(), mb.samplingLogProbs), settings, batch.activeTokens,
                config.gradientAccumulationSteps());
    }
}
