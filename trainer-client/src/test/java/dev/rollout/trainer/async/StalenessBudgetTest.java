package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StalenessBudgetTest {
    private final StalenessBudget budget = new StalenessBudget(8, 1, 2);

    @Test
    void admitsTheGroupsOfTheNextMaxStalenessPlusOneBatches() {
        // trainer about to start version 10, servers at 10: batches at 10, 11, 12 are within 2 versions
        assertTrue(budget.admits(0, 10, 10));
        assertTrue(budget.admits(3 * 8 - 1, 10, 10));
        assertFalse(budget.admits(3 * 8, 10, 10));
    }

    @Test
    void serversBehindThePolicyShrinkTheBudget() {
        assertTrue(budget.admits(8 - 1, 10, 8));
        assertFalse(budget.admits(8, 10, 8));
        assertFalse(budget.admits(0, 10, 7));
    }

    @Test
    void severalVersionsPerBatchCountEach() {
        StalenessBudget twoSteps = new StalenessBudget(8, 2, 2);
        assertTrue(twoSteps.admits(15, 10, 10));
        assertFalse(twoSteps.admits(16, 10, 10));
    }

    @Test
    void aGroupIsTooStaleOnlyBeyondMaxStaleness() {
        assertFalse(budget.tooStale(12, 10));
        assertTrue(budget.tooStale(13, 10));
    }

    @Test
    void aGroupIsDueInTheLastBatchWhosePolicyItFits() {
        // max_staleness 2: a group from version 10 fits the policies at 11 and 12, not 13
        assertFalse(budget.dueAt(11, 10));
        assertTrue(budget.dueAt(12, 10));
        StalenessBudget twoSteps = new StalenessBudget(8, 2, 2);
        assertFalse(twoSteps.dueAt(9, 10), "the batch after, at 11, still fits");
        assertTrue(twoSteps.dueAt(11, 10), "the batch after is at 13");
    }
}
