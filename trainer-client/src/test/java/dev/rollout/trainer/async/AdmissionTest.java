package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The lookahead against the staleness budget: 2 groups per batch, one version per batch, max_staleness 4. */
class AdmissionTest {
    private static final int B = 2;

    /** How many groups may be outstanding before the next one is refused. */
    private static long outstandingAllowed(Admission a) {
        long ahead = 0;
        while (a.admits(ahead)) {
            ahead++;
        }
        return ahead;
    }

    private static Admission admission() {
        return new Admission(new StalenessBudget(B, 1, 4), 1);
    }

    @Test
    void whenTheTrainerFindsItsBatchReadyOnlyTheNextBatchMayBeOutstanding() {
        Admission a = admission();
        a.takeStarted(1);
        a.taken(1, false);

        assertEquals(B, outstandingAllowed(a), "the budget alone would admit 4 batches");
    }

    @Test
    void eachTakeThatWaitedLetsTheProducerRunOneBatchFurtherUpToTheBudget() {
        Admission a = admission();
        long version = 1;
        for (int take = 1; take <= 6; take++) {
            a.takeStarted(version);
            a.taken(version, true);
            version++;
            a.published(version);
            long expected = Math.min(1 + take, 5) * (long) B; // the budget: the next batch and 4 more
            assertEquals(expected, outstandingAllowed(a), "after " + take + " waiting take(s)");
        }
    }

    @Test
    void takesInARowThatFindTheirBatchReadyShrinkTheLookaheadByOne() {
        Admission a = admission();
        a.taken(1, true);
        a.published(2);
        a.taken(2, true);
        a.published(3);
        assertEquals(3 * B, outstandingAllowed(a));

        long version = 3;
        for (int ready = 1; ready < Admission.READY_TAKES_TO_SHRINK; ready++) {
            a.taken(version, false);
            a.published(++version);
            assertEquals(3 * B, outstandingAllowed(a), "after " + ready + " ready take(s) in a row");
        }
        a.taken(version, false);
        a.published(++version);
        assertEquals(2 * B, outstandingAllowed(a));
    }

    @Test
    void aTakeThatWaitedBetweenReadyOnesRestartsTheCount() {
        Admission a = admission();
        a.taken(1, true);
        a.published(2);
        long version = 2;
        for (int round = 0; round < 4; round++) {
            for (int ready = 1; ready < Admission.READY_TAKES_TO_SHRINK; ready++) {
                a.taken(version, false);
                a.published(++version);
            }
            a.taken(version, true);
            a.published(++version);
        }
        // the generation side is slow: every few batches the trainer waits, so the lookahead never shrinks
        assertEquals(5 * B, outstandingAllowed(a), "one wait per round grew it to the budget; no ready run shrank it");
    }

    @Test
    void whileTheTrainerWaitsOneBatchMoreMayStart() {
        Admission a = admission();
        a.takeStarted(1);
        a.taken(1, false);
        a.published(2);
        a.takeStarted(2);

        a.trainerWaiting(true);
        assertEquals(2 * B, outstandingAllowed(a));
        a.trainerWaiting(false);
        assertEquals(B, outstandingAllowed(a));
    }

    @Test
    void atMaxStalenessZeroNothingStartsBeforeThePushOfTheVersionItIsTrainedOn() {
        Admission a = new Admission(new StalenessBudget(B, 1, 0), 1);
        a.takeStarted(1);
        a.taken(1, true);

        assertEquals(0, outstandingAllowed(a), "the next batch trains at version 2, not yet published");
        a.published(2);
        assertEquals(B, outstandingAllowed(a));
    }
}
