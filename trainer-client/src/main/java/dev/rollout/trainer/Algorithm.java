package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import dev.rollout.trainer.GenerationBatch.MicroBatch;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.config.TrainerType;
import dev.rollout.trainer.loss.Advantages;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.reward.RewardScores;
import java.util.Map;

/** What GRPO and RLOO do differently within the same step: the log-probs they need, their advantages, their loss. */
interface Algorithm {

    static Algorithm of(TrainerConfig config) {
        return config.trainer() == TrainerType.RLOO ? new RlooAlgorithm(config) : new GrpoAlgorithm(config);
    }

    /** True when the loss is weighted by the sampler correction (and its {@code sampling/*} statistics logged). */
    boolean usesSamplingCorrection();

    /** True when the loss needs the old log-probs computed before the first update even with one iteration. */
    boolean needsOldLogProbs();

    /**
     * One advantage per completion of the generation batch, from the rewards (and the fixed log-probs).
     *
     * @param metrics where statistics of the step computed on the way (such as RLOO's {@code kl}) are put
     */
    Advantages advantages(RewardScores scores, GenerationBatch batch, Map<String, Double> metrics);

    /**
     * The micro-batch's loss to back-propagate.
     *
     * @param logProbs   the policy's log-probs now, carrying the gradient
     * @param advantages [B] this micro-batch's advantages
     * @param metrics    where statistics computed on the way (such as the sampler correction's) are added
     */
    LossResult loss(MicroBatch mb, TokenLogProbs logProbs, NDArray advantages, GenerationBatch batch, StepMetrics metrics);
}
