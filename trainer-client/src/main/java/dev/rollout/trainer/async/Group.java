package dev.rollout.trainer.async;

import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.data.PromptRow;
import java.util.List;

/**
 * One prompt's {@code num_generations} completions, generated together by one server, as the producer hands them to
 * the trainer.
 *
 * @param index       the draw of its prompt in the run's prompt stream ({@link DrawnPrompt#draw})
 * @param completions ordered by sample index, each with prompt_index 0
 */
public record Group(long index, PromptRow row, List<Completion> completions) {

    /** The weight version of each of the completion's tokens; a server that does not say per token used one throughout. */
    public static long[] tokenVersions(Completion c) {
        long[] out = new long[c.getTokenIdsCount()];
        for (int t = 0; t < out.length; t++) {
            out[t] = c.getTokenWeightVersionsCount() == out.length ? c.getTokenWeightVersions(t) : c.getWeightVersion();
        }
        return out;
    }

    /** The oldest weight version that produced any of the group's tokens (its first token's, as versions only grow). */
    public long oldestVersion() {
        long oldest = Long.MAX_VALUE;
        for (Completion c : completions) {
            oldest = Math.min(oldest, c.getTokenWeightVersionsCount() > 0 ? c.getTokenWeightVersions(0) : c.getWeightVersion());
        }
        return oldest;
    }
}
