package dev.rollout.trainer.async;

/**
 * Admission by staleness (AReaL's bounded staleness, SkyRL's capacity (S + step) × B): a group is started only if,
 * trained in order behind every group already started, its oldest token will be at most {@code maxStaleness}
 * versions behind the policy that trains on it.
 *
 * <p>The trainer takes {@code groupsPerBatch} groups per generation batch and advances {@code versionsPerBatch}
 * weight versions on each. A group started now is sampled from weights at least {@code published} (the version every
 * server in use holds); if {@code outstanding} groups are ahead of it, it lands in the generation batch
 * {@code outstanding / groupsPerBatch} after the next one, which starts at version
 * {@code nextBatchVersion + that × versionsPerBatch}.
 */
public record StalenessBudget(int groupsPerBatch, int versionsPerBatch, int maxStaleness) {

    public StalenessBudget {
        if (groupsPerBatch < 1 || versionsPerBatch < 1 || maxStaleness < 0) {
            throw new IllegalArgumentException("groupsPerBatch and versionsPerBatch must be >= 1 and maxStaleness >= 0, got "
                    + groupsPerBatch + ", " + versionsPerBatch + ", " + maxStaleness);
        }
    }

    /**
     * @param outstanding      groups started (in flight or ready) and not yet taken by the trainer
     * @param nextBatchVersion the policy version the trainer's next generation batch starts from
     * @param published        the oldest weight version a server in use may sample from
     */
    public boolean admits(long outstanding, long nextBatchVersion, long published) {
        long batchesAhead = outstanding / groupsPerBatch;
        return nextBatchVersion + batchesAhead * versionsPerBatch - published <= maxStaleness;
    }

    /** Versions between a group's oldest token and the policy that trains on it. */
    public static long staleness(long policyVersion, long tokenVersion) {
        return Math.max(0, policyVersion - tokenVersion);
    }

    /**
     * True when a group sampled from {@code oldestVersion} has to be trained in the batch for the policy at
     * {@code policyVersion}: the next batch's policy would find it too stale.
     */
    public boolean dueAt(long policyVersion, long oldestVersion) {
        return tooStale(policyVersion + versionsPerBatch, oldestVersion);
    }

    /** True when a group sampled from {@code oldestVersion} is too old for the policy at {@code policyVersion}. */
    public boolean tooStale(long policyVersion, long oldestVersion) {
        return staleness(policyVersion, oldestVersion) > maxStaleness;
    }
}
