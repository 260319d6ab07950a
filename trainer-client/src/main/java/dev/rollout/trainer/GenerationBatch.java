package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.CompletionMask;
import java.util.ArrayList;
import java.util.List;

/**
 * A generation batch cut into micro-batches of {@code per_device_train_batch_size} completions, with their masks and
 * the server's log-probs, on a sub-manager of the loop's that {@link #close} frees.
 */
final class GenerationBatch implements AutoCloseable {
    final List<MicroBatch> micro = new ArrayList<>();
    /** Active (masked-in) tokens over every micro-batch: the {@code dapo} normaliser. */
    final double activeTokens;
    private final NDManager scope;

    GenerationBatch(List<Completion> completions, TrainerConfig config, NDManager parent) {
        scope = parent.newSubManager();
        int size = config.perDeviceTrainBatchSize();
        double active = 0;
        for (int offset = 0; offset < completions.size(); offset += size) {
            List<Completion> part = completions.subList(offset, Math.min(completions.size(), offset + size));
            MicroBatch mb = new MicroBatch(offset, part, config, scope);
            active += CompletionMask.activeTokens(mb.mask);
            micro.add(mb);
        }
        activeTokens = active;
    }

    @Override
    public void close() {
        scope.close();
    }

    /** Completions {@code [offset, offset + rows.size())} of the generation batch. */
    static final class MicroBatch {
        final int offset;
        final List<Policy.Sequence> rows = new ArrayList<>();
        final NDArray mask;
        final NDArray samplingLogProbs;
        /** [B, T] the policy's log-probs before this generation's first update, when the loss needs them; else null. */
        NDArray oldLogProbs;
        /** [B, T] the reference model's log-probs when β ≠ 0; else null. */
        NDArray refLogProbs;

        MicroBatch(int offset, List<Completion> part, TrainerConfig config, NDManager scope) {
            this.offset = offset;
            int width = 1;
            for (Completion c : part) {
                width = Math.max(width, c.getTokenIdsCount());
            }
            int[] lengths = new int[part.size()];
            boolean[] truncated = new boolean[part.size()];
            float[] sampling = new float[part.size() * width];
            for (int i = 0; i < part.size(); i++) {
                Completion c = part.get(i);
                rows.add(new Policy.Sequence(TrainingLoop.toArray(c.getPromptTokenIdsList()),
                        TrainingLoop.toArray(c.getTokenIdsList())));
                lengths[i] = c.getTokenIdsCount();
                truncated[i] = c.getFinishReason() != FinishReason.FINISH_REASON_STOP;
                for (int t = 0; t < c.getLogprobsCount(); t++) {
                    sampling[i * width + t] = c.getLogprobs(t);
                }
            }
            mask = CompletionMask.build(scope, lengths, truncated, width, config.maskTruncatedCompletions());
            samplingLogProbs = scope.create(sampling, new Shape(part.size(), width));
        }

        int size() {
            return rows.size();
        }
    }
}
