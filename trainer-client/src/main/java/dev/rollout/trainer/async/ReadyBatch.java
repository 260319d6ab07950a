package dev.rollout.trainer.async;

import java.util.List;

/**
 * The groups the trainer takes for one generation batch, oldest first, and what taking them cost.
 *
 * @param waitSeconds     how long the trainer waited for them (its idle time)
 * @param queuedCompletions finished completions still waiting after these were taken
 * @param droppedGroups   groups dropped as too stale so far in the run
 * @param regeneratedGroups groups started again elsewhere after their server was lost, so far in the run
 */
public record ReadyBatch(List<Group> groups, double waitSeconds, int queuedCompletions, long droppedGroups,
        long regeneratedGroups) {}
