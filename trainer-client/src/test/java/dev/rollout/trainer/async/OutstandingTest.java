package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.data.PromptRow;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Which group a take takes next: two groups a batch, one version a batch, max_staleness 1, one completion a group. */
class OutstandingTest {
    private static final StalenessBudget BUDGET = new StalenessBudget(2, 1, 1);
    private static final ServerAddress SERVER = new ServerAddress("s", 1);
    private final Outstanding outstanding = new Outstanding(1, 4);
    private final AtomicLong draws = new AtomicLong();

    @BeforeEach
    void lock() {
        outstanding.lock(); // as the producer holds it
    }

    @AfterEach
    void unlock() {
        outstanding.unlock();
    }

    /** Starts a group sampled from {@code version} on. */
    private InFlightGroup start(long version) {
        return outstanding.start(SERVER, () -> {
            long draw = draws.getAndIncrement();
            return new DrawnPrompt(draw, new PromptRow("p" + draw, null, Map.of()));
        }, version);
    }

    private void finish(InFlightGroup g, long version) {
        outstanding.received(g, Completion.newBuilder().setWeightVersion(version).addTokenIds(1)
                .addTokenWeightVersions(version).build());
        outstanding.arrived(g);
    }

    private Long next(long policyVersion, int slotsLeft, boolean keepSlots) {
        Map.Entry<Long, Group> e = outstanding.nextToTake(BUDGET, policyVersion, slotsLeft, keepSlots);
        return e == null ? null : e.getValue().index();
    }

    @Test
    void aGroupInFlightThatTheNextBatchStillFitsMayBeOvertaken() {
        InFlightGroup late = start(1);
        finish(start(1), 1);
        finish(start(1), 1);

        assertEquals(1L, next(1, 2, true), "group 0 fits the batch at 2 too");
        assertEquals(2L, next(1, 1, true));
        assertEquals(List.of(late.index), List.copyOf(outstanding.untrainedDraws()));
    }

    @Test
    void aDueGroupInFlightKeepsItsSlotSoTheTakeWaitsForIt() {
        InFlightGroup due = start(1); // the batch at 2 is its last
        finish(start(2), 2);
        finish(start(2), 2);

        assertEquals(1L, next(2, 2, true), "one slot is left for group 0");
        assertNull(next(2, 1, true), "the last slot waits for group 0");
        finish(due, 1);
        assertEquals(0L, next(2, 1, true));
    }

    @Test
    void aDueGroupAlreadyReadyGoesBeforeOlderGroupsThatCanWait() {
        finish(start(2), 2);
        finish(start(1), 1); // started later, from older weights: a server slow to take a push
        finish(start(2), 2);

        assertEquals(1L, next(2, 1, true), "the due group, not the oldest ready");
    }

    @Test
    void pastTheWaitForDueGroupsTheTakeTakesLaterGroups() {
        start(1);
        finish(start(2), 2);

        assertEquals(1L, next(2, 1, false));
    }

    @Test
    void nothingReadyMeansWait() {
        start(2);

        assertNull(next(2, 2, true));
    }
}
