package dev.rollout.trainer;

import dev.rollout.proto.v1.Completion;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** TRL's completion-length metrics of a generation batch. */
final class CompletionStats {
    private CompletionStats() {
    }

    /**
     * Puts {@code completions/mean_length|min_length|max_length}, {@code completions/clipped_ratio} (the share whose
     * last id is not a stop id) and {@code completions/mean|min|max_terminated_length}; returns the tokens generated.
     */
    static long put(List<Completion> completions, Set<Integer> stopIds, Map<String, Double> metrics) {
        CompletionLengths all = new CompletionLengths();
        CompletionLengths terminated = new CompletionLengths();
        for (Completion c : completions) {
            all.add(c.getTokenIdsCount());
            if (!GenerationBatch.truncated(c, stopIds)) {
                terminated.add(c.getTokenIdsCount());
            }
        }
        metrics.put("completions/mean_length", all.mean());
        metrics.put("completions/min_length", all.min());
        metrics.put("completions/max_length", all.max());
        metrics.put("completions/clipped_ratio", (double) (all.count - terminated.count) / all.count);
        metrics.put("completions/mean_terminated_length", terminated.mean());
        metrics.put("completions/min_terminated_length", terminated.min());
        metrics.put("completions/max_terminated_length", terminated.max());
        return all.sum;
    }

    /** Count, sum and extremes of completion lengths; all 0 when there are none (TRL's edge case). */
    private static final class CompletionLengths {
        int count;
        long sum;
        int min = Integer.MAX_VALUE;
        int max;

        void add(int length) {
            count++;
            sum += length;
            min = Math.min(min, length);
            max = Math.max(max, length);
        }

        double mean() {
            return count == 0 ? 0.0 : (double) sum / count;
        }

        double min() {
            return count == 0 ? 0.0 : min;
        }

        double max() {
            return max;
        }
    }
}
