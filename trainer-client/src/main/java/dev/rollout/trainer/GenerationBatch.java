package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.loss.CompletionMask;
import dev.rollout.trainer.loss.SamplingCorrection;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A generation batch, shuffled as TRL shuffles it, cut into micro-batches of {@code per_device_train_batch_size}
 * completions with their masks and the server's log-probs, on a sub-manager of the loop's that {@link #close} frees.
 */
final class GenerationBatch implements AutoCloseable {
    final List<MicroBatch> micro = new ArrayList<>();
    /** Active (masked-in) tokens over every micro-batch: the {@code dapo} normaliser. */
    final double activeTokens;
    /** The sampler correction's statistics over the micro-batches that have computed theirs. */
    SamplingCorrection.Totals correctionTotals = SamplingCorrection.Totals.NONE;
    private final NDManager scope;

    /**
     * @param order which completion goes where: micro-batch k holds {@code order[k·size .. (k+1)·size)}
     * @param stopIds the ids that end a completion; one whose last id is not among them is truncated
     */
    GenerationBatch(List<Completion> completions, int[] order, Set<Integer> stopIds, TrainerConfig config,
                    NDManager parent) {
        scope = parent.newSubManager();
        int size = config.perDeviceTrainBatchSize();
        double active = 0;
        for (int start = 0; start < completions.size(); start += size) {
            int[] indices = new int[Math.min(size, completions.size() - start)];
            System.arraycopy(order, start, indices, 0, indices.length);
            MicroBatch mb = new MicroBatch(indices, completions, stopIds, config, scope);
            active += CompletionMask.activeTokens(mb.mask);
            micro.add(mb);
        }
        activeTokens = active;
    }

    /** A seeded random permutation of {@code count} completions (TRL's shuffle_sequence_dict before splitting). */
    static int[] shuffledOrder(int count, long seed) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = count - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** TRL's "truncated": the completion's last id is not one that ends a completion (empty ones count as truncated). */
    static boolean truncated(Completion c, Set<Integer> stopIds) {
        int n = c.getTokenIdsCount();
        return n == 0 || !stopIds.contains(c.getTokenIds(n - 1));
    }

    /** The manager that holds what lives as long as the batch (its fixed log-probs, its correction ratios). */
    NDManager scope() {
        return scope;
    }

    @Override
    public void close() {
        scope.close();
    }

    /** Some completions of the generation batch, by their index in it. */
    static final class MicroBatch {
        /** Index in the generation batch (and into the advantages) of each row. */
        final int[] indices;
        final List<Policy.Sequence> rows = new ArrayList<>();
        final NDArray mask;
        final NDArray samplingLogProbs;
        /** [B, T] the policy's log-probs before this generation's first update, when the loss needs them; else null. */
        NDArray oldLogProbs;
        /**
         * [B, T] the policy's log-probs without dropout, for the sampler correction when {@link #oldLogProbs} is null and
         * the training forward has LoRA dropout (whose noise is no train/inference mismatch); else null.
         */
        NDArray correctionLogProbs;
        /** [B, T] the reference model's log-probs when β ≠ 0; else null. */
        NDArray refLogProbs;
        /** The sampler-correction ratio, computed once from the log-probs before the first update; null until then. */
        NDArray samplingRatio;

        MicroBatch(int[] indices, List<Completion> completions, Set<Integer> stopIds, TrainerConfig config,
                   NDManager scope) {
            this.indices = indices;
            int width = 1;
            for (int index : indices) {
                width = Math.max(width, completions.get(index).getTokenIdsCount());
            }
            int[] lengths = new int[indices.length];
            boolean[] truncated = new boolean[indices.length];
            float[] sampling = new float[indices.length * width];
            for (int i = 0; i < indices.length; i++) {
                Completion c = completions.get(indices[i]);
                if (c.getLogprobsCount() != c.getTokenIdsCount()) {
                    throw new IllegalStateException("completion " + indices[i] + " (prompt " + c.getPromptIndex()
                            + ", sample " + c.getSampleIndex() + ") has " + c.getLogprobsCount() + " log-probs for "
                            + c.getTokenIdsCount() + " tokens: the rollout server must return one per token");
                }
                rows.add(new Policy.Sequence(TrainingLoop.toArray(c.getPromptTokenIdsList()),
                        TrainingLoop.toArray(c.getTokenIdsList())));
                lengths[i] = c.getTokenIdsCount();
                truncated[i] = truncated(c, stopIds);
                for (int t = 0; t < c.getLogprobsCount(); t++) {
                    sampling[i * width + t] = c.getLogprobs(t);
                }
            }
            mask = CompletionMask.build(scope, lengths, truncated, width, config.maskTruncatedCompletions());
            samplingLogProbs = scope.create(sampling, new Shape(indices.length, width));
        }

        int size() {
            return rows.size();
        }

        /** {@code values[indices[i]]} for each row. */
        float[] pick(double[] values) {
            float[] out = new float[indices.length];
            for (int i = 0; i < indices.length; i++) {
                out[i] = (float) values[indices[i]];
            }
            return out;
        }
    }
}
