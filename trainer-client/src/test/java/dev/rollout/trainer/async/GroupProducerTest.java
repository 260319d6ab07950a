package dev.rollout.trainer.async;

import static dev.rollout.trainer.async.ProducerHarness.GROUPS_PER_BATCH;
import static dev.rollout.trainer.async.ProducerHarness.START;
import static dev.rollout.trainer.async.ProducerHarness.indices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The async producer's admission and take order against fake servers (see {@link ProducerHarness}). The properties
 * checked hold whatever the threads' timing, so the tests do not depend on how loaded the machine is; the delays only
 * make one side the slow one, and servers that hold each group until the test releases it fix the order groups
 * finish in.
 */
class GroupProducerTest {
    private final ProducerHarness h = new ProducerHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void withASlowTrainerNoTokenIsTrainedMoreThanMaxStalenessVersionsLate() throws Exception {
        h.start(2, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = h.train(12, 30);

        assertTrue(staleness.stream().allMatch(s -> s <= 2), "staleness per batch " + staleness);
        assertEquals(0, h.producer.take(START + 12).droppedGroups(), "admission keeps every group within the bound");
    }

    @Test
    void withASlowServerNoTokenIsTrainedMoreThanMaxStalenessVersionsLate() throws Exception {
        h.start(1, Duration.ofSeconds(30), new FakeGroupSource.Server("slow", 40));

        List<Long> staleness = h.train(8, 0);

        assertTrue(staleness.stream().allMatch(s -> s <= 1), "staleness per batch " + staleness);
        assertEquals(0, h.producer.take(START + 8).droppedGroups(), "a group finishing late is waited for, not dropped");
    }

    /**
     * max_staleness 1, two groups a batch, every group finishing only when the test releases it: groups 0 and 1 are
     * admitted for the first batch, and 2 and 3 for the second while the trainer waits for the first. Group 0 is late:
     * the second batch still fits it (1 version past its weights), so the first take may take 1 and 2, started after
     * it. Then groups 4 and 5 start from version 2, and all but group 0 finish. Returns the held server.
     */
    private FakeGroupSource.Server groupZeroLateForTheFirstBatch(Duration liveness) throws Exception {
        FakeGroupSource.Server server = new FakeGroupSource.Server("s", 0);
        server.held = true;
        h.start(1, liveness, server);
        ExecutorService trainer = Executors.newSingleThreadExecutor();
        try {
            Future<ReadyBatch> first = trainer.submit(() -> h.producer.take(START));
            h.awaitStarted(server, 4);
            server.release(1);
            server.release(2);
            assertEquals(List.of(1L, 2L), indices(first.get(10, TimeUnit.SECONDS)));
        } finally {
            trainer.shutdownNow();
        }
        h.publish(START + 1);
        h.awaitStarted(server, 6);
        server.release(3);
        server.release(4);
        server.release(5);
        return server;
    }

    @Test
    void aGroupStillInFlightIsWaitedForInTheLastBatchFitForItNotOvertakenAndDropped() throws Exception {
        FakeGroupSource.Server server = groupZeroLateForTheFirstBatch(Duration.ofSeconds(30));
        ExecutorService trainer = Executors.newSingleThreadExecutor();
        try {
            // the second batch is group 0's last (the third is 2 versions past its weights): its take waits for it
            // rather than take groups 4 or 5, which fit the third
            Future<ReadyBatch> second = trainer.submit(() -> h.producer.take(START + 1));
            h.awaitWaitingOrDone(second);
            server.release(0);
            ReadyBatch batch = second.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(0L, 3L), indices(batch), "group 0 in the last batch fit for it, with the oldest ready");
            h.publish(START + 2);
            ReadyBatch third = h.producer.take(START + 2);

            assertEquals(List.of(4L, 5L), indices(third));
            assertEquals(0, third.droppedGroups(), "no group was dropped");
        } finally {
            trainer.shutdownNow();
        }
    }

    @Test
    void aTakeWaitsForADueGroupNoLongerThanTheLivenessTimeout() throws Exception {
        // group 0 never finishes: the second take gives up on it after the liveness timeout and takes later groups;
        // group 0, if it ever came, would be dropped as too stale
        groupZeroLateForTheFirstBatch(Duration.ofMillis(300));

        ReadyBatch batch = h.producer.take(START + 1);

        assertEquals(List.of(3L, 4L), indices(batch));
        assertTrue(batch.waitSeconds() >= 0.3, "waited " + batch.waitSeconds() + " s for group 0 first");
    }

    @Test
    void atMaxStalenessZeroEveryTokenIsFromThePolicyThatTrainsOnIt() throws Exception {
        h.start(0, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = h.train(6, 10);

        assertEquals(List.of(0L, 0L, 0L, 0L, 0L, 0L), staleness);
    }

    @Test
    void withASlowTrainerGroupsStartOnlyOneBatchAheadOfItNotAsFarAsTheBudgetAllows() throws Exception {
        h.start(4, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = h.train(12, 250);
        Thread.sleep(200);

        // taken 12 batches; the first takes may have waited (the lookahead then grew), the others found theirs ready,
        // and every Admission.READY_TAKES_TO_SHRINK of them in a row shrank it by one: from then on at most the next
        // batch is outstanding, where the budget alone would admit 4
        int started = FakeGroupSource.allStarted(h.source).size();
        assertTrue(started <= 14 * GROUPS_PER_BATCH, started + " groups started for 12 batches taken");
        assertTrue(staleness.stream().allMatch(s -> s <= 2), "staleness per batch " + staleness);
        assertTrue(staleness.subList(8, 12).stream().allMatch(s -> s <= 1), "staleness per batch " + staleness);
    }

    @Test
    void groupsNeverStartMoreThanTheBudgetAhead() throws Exception {
        // a server slower than the trainer's first take: the trainer waits, so the producer may run ahead
        h.start(2, Duration.ofSeconds(30), new FakeGroupSource.Server("slow", 300));
        h.producer.take(START);

        // the trainer "trains" for long: the producer fills what the budget allows, then stops
        long until = System.nanoTime() + 20_000_000_000L;
        while (FakeGroupSource.allStarted(h.source).size() < 3 * GROUPS_PER_BATCH && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        int started = FakeGroupSource.allStarted(h.source).size();

        // batch 0 taken; while it trains, batches 1 (staleness 1) and 2 (staleness 2) may be generated, not batch 3
        assertEquals(3 * GROUPS_PER_BATCH, started);
    }

    @Test
    void aGroupTooStaleAtTrainingTimeIsDroppedCountedAndReplaced() throws Exception {
        FakeGroupSource.Server server = new FakeGroupSource.Server("s", 0);
        server.staleVersionOnce = START - 5;
        h.start(2, Duration.ofSeconds(30), server);
        // the stale group (the first started) must be ready before the trainer asks: a batch filled by fresh groups
        // that finished before it would leave it to the next take
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((server.started.isEmpty() || h.producer.inFlightCompletions() > 0) && System.nanoTime() < until) {
            Thread.sleep(10);
        }

        ReadyBatch batch = h.producer.take(START);

        assertEquals(1, batch.droppedGroups());
        assertEquals(GROUPS_PER_BATCH, batch.groups().size());
        assertTrue(batch.groups().stream().allMatch(g -> g.oldestVersion() == START), "only fresh groups are trained on");
    }

    @Test
    void groupsGoToTheServerWithTheFewestTokensInFlight() throws Exception {
        FakeGroupSource.Server busy = new FakeGroupSource.Server("busy", 60_000);
        FakeGroupSource.Server free = new FakeGroupSource.Server("free", 0);
        // max_staleness 4: the busy server's group is not yet due in the third batch, so no take waits for it
        h.start(4, Duration.ofSeconds(30), busy, free);

        h.train(3, 0);

        // the busy server never finishes a group, so every group trained on came from the other
        assertTrue(free.started.size() >= 3 * GROUPS_PER_BATCH, "free " + free.started + ", busy " + busy.started);
        assertTrue(busy.started.size() >= 1, "the first group goes to the first server listed (a tie)");
    }
}
