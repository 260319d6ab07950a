package dev.rollout.trainer.async;

/**
 * Whether the producer may start a group now: the staleness budget, the hard bound on how far ahead it may run, and
 * the lookahead, how far ahead the trainer needs it to run. Not thread-safe: the producer holds its lock.
 */
final class Admission {
    private final StalenessBudget budget;
    /** The policy version the trainer's next generation batch starts from. */
    private long nextBatchVersion;
    /** The oldest weight version a server in use may sample from. */
    private long published;
    /**
     * Generation batches the producer may have outstanding beyond the trainer's next one: one more each time the
     * trainer had to wait for its batch (generation is the slow side: run further ahead, up to what the staleness
     * budget admits), one fewer after {@value #READY_TAKES_TO_SHRINK} takes in a row found their batch ready (the
     * trainer is the slow side: a group started further ahead would only wait in the queue, growing stale).
     */
    private int lookahead;
    /**
     * Takes in a row that found their batch ready. One such take is no sign that the trainer is the slow side: when
     * generation is, its lookahead lets a batch or two finish early now and then, and shrinking on each of them
     * emptied the pipeline every few steps (the trainer then waited a whole batch's generation, and the server idled
     * meanwhile). A trainer that is the slow side finds every batch ready, so it still shrinks the lookahead to 0.
     */
    private int readyTakes;
    static final int READY_TAKES_TO_SHRINK = 3;
    /**
     * The trainer is waiting for groups: it is idle, so one batch more may start at once (a group stuck on a slow
     * server then cannot hold it up), before the lookahead grows.
     */
    private boolean trainerWaiting;

    /** @param version the policy version training starts from, published to every server */
    Admission(StalenessBudget budget, long version) {
        this.budget = budget;
        this.nextBatchVersion = version;
        this.published = version;
    }

    /** @param ahead groups started and not yet trained on that the group to start would be trained behind */
    boolean admits(long ahead) {
        return ahead < (long) (1 + lookahead + (trainerWaiting ? 1 : 0)) * budget.groupsPerBatch()
                && budget.admits(ahead, nextBatchVersion, published);
    }

    /** The trainer asks for its next batch, for the policy at {@code policyVersion}. */
    void takeStarted(long policyVersion) {
        nextBatchVersion = policyVersion;
    }

    void trainerWaiting(boolean waiting) {
        trainerWaiting = waiting;
    }

    boolean trainerWaiting() {
        return trainerWaiting;
    }

    /** The trainer took its batch for {@code policyVersion}, after waiting for it or not. */
    void taken(long policyVersion, boolean waited) {
        trainerWaiting = false;
        if (waited) {
            lookahead = Math.min(lookahead + 1, budget.maxStaleness());
            readyTakes = 0;
        } else if (++readyTakes == READY_TAKES_TO_SHRINK) {
            lookahead = Math.max(lookahead - 1, 0);
            readyTakes = 0;
        }
        nextBatchVersion = policyVersion + budget.versionsPerBatch();
    }

    /** Every server in use holds {@code version}. */
    void published(long version) {
        published = Math.max(published, version);
    }

    long published() {
        return published;
    }
}
