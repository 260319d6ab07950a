package dev.rollout.trainer.async;

import static dev.rollout.trainer.async.ProducerHarness.GROUPS_PER_BATCH;
import static dev.rollout.trainer.async.ProducerHarness.START;
import static dev.rollout.trainer.async.ProducerHarness.indices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The async producer when servers fail, hang or go away, against fake servers (see {@link ProducerHarness}): only the
 * lost server's groups in flight are started again, elsewhere, once each, and a failure that is not about the server
 * stops training with its message.
 */
class GroupProducerFailuresTest {
    private final ProducerHarness h = new ProducerHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void aServerThatDiesLosesOnlyItsGroupsInFlightWhichAreGeneratedElsewhere() throws Exception {
        FakeGroupSource.Server dying = new FakeGroupSource.Server("dying", 0);
        dying.failWith = Status.UNAVAILABLE.withDescription("connection refused");
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        h.start(2, Duration.ofSeconds(30), dying, healthy);

        List<Long> staleness = h.train(4, 0);

        assertEquals(4, staleness.size());
        assertEquals(List.of(dying.address), h.source.lost.stream().distinct().toList());
        ReadyBatch next = h.producer.take(START + 4);
        assertTrue(next.regeneratedGroups() >= 1 && next.regeneratedGroups() <= dying.started.size(),
                "groups the dead server held were generated again: " + next.regeneratedGroups() + " of " + dying.started);
        assertEquals(0, next.droppedGroups(), "nothing is thrown away");
    }

    @Test
    void aGroupStartedAgainIsTrainedAfterTheGroupsStartedBeforeItsRestartNotInItsOldPlace() throws Exception {
        // group 0 goes to the first server listed, which fails it at once; group 1 goes to the other; group 0 starts
        // again there after group 1, so it is trained after it, as admission counted it (behind every group ahead)
        FakeGroupSource.Server failing = new FakeGroupSource.Server("failing", 0);
        failing.failWith = Status.UNAVAILABLE.withDescription("connection reset");
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        h.start(4, Duration.ofSeconds(30), failing, healthy);
        long until = System.nanoTime() + 20_000_000_000L;
        while ((healthy.started.size() < 2 || h.producer.inFlightCompletions() > 0) && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(100); // the two groups are ready before the trainer asks, so only their order decides

        ReadyBatch batch = h.producer.take(START);

        assertEquals(List.of(0L), failing.started, "only group 0 (seed 0) went to the failing server, once");
        // a snapshot: the producer may still be adding to the list, and a live subList of it would then throw
        assertEquals(List.of(1L, 0L), List.copyOf(healthy.started).subList(0, 2), "then group 1, then group 0 again, keeping its seed");
        assertEquals(List.of(1L, 0L), batch.groups().stream().map(Group::index).toList(), "trained in start order");
        assertEquals(1, batch.regeneratedGroups(), "the failed start is counted");
    }

    @Test
    void aGroupLostWithItsServerIsNotSentBackThereWhileTheSourceIsStillBeingToldOfTheLoss() throws Exception {
        // telling the source waits (as the remote source does while a weight push holds its lock), so its list of
        // servers still names the failed one, now the least loaded; the restart must go to the other
        FakeGroupSource.Server failing = new FakeGroupSource.Server("failing", 0);
        failing.failWith = Status.UNAVAILABLE.withDescription("connection reset");
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        healthy.held = true;
        CountDownLatch telling = new CountDownLatch(1);
        h.start(4, Duration.ofSeconds(30), failing, healthy);
        h.source.lostGate = telling;

        h.awaitStarted(healthy, 2); // group 1, then group 0 again

        telling.countDown();
        assertGroupZeroStartedAgainOnlyOn(healthy, failing);
    }

    @Test
    void aHungServersGroupIsNotSentBackToIt() throws Exception {
        // the producer's own list of servers, got before it found the server hung, still names it
        FakeGroupSource.Server hung = new FakeGroupSource.Server("hung", 0);
        hung.hang = true;
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        healthy.held = true;
        h.start(4, Duration.ofMillis(100), hung, healthy);

        h.awaitStarted(healthy, 2); // group 1, then group 0 again once the hung server's silence ran out

        assertGroupZeroStartedAgainOnlyOn(healthy, hung);
    }

    /**
     * Group 0 went to {@code lost} once, and group 1, then group 0 again, to {@code healthy} (holding them); once
     * released they are trained in that order, and the restart was counted once.
     */
    private void assertGroupZeroStartedAgainOnlyOn(FakeGroupSource.Server healthy, FakeGroupSource.Server lost) {
        assertEquals(List.of(0L), lost.started, "group 0 went to " + lost.address + " once");
        assertEquals(List.of(1L, 0L), List.copyOf(healthy.started));
        healthy.release(1);
        healthy.release(0);
        ReadyBatch batch = h.producer.take(START);
        assertEquals(List.of(1L, 0L), indices(batch));
        assertEquals(1, batch.regeneratedGroups(), "regenerated once");
    }

    @Test
    void aHungServerIsFailedOverAfterTheLivenessTimeout() throws Exception {
        FakeGroupSource.Server hung = new FakeGroupSource.Server("hung", 0);
        hung.hang = true;
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        h.start(2, Duration.ofMillis(100), hung, healthy);

        List<Long> staleness = h.train(3, 0);
        long until = System.nanoTime() + 20_000_000_000L; // the liveness timeout counts from the group's start
        while (h.source.lost.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(20);
        }

        assertEquals(3, staleness.size(), "training went on with the healthy server");
        assertEquals(List.of(hung.address), h.source.lost.stream().distinct().toList());
        assertTrue(h.producer.take(START + 3).regeneratedGroups() >= 1, "the hung server's group was generated again");
    }

    @Test
    void aFailureThatIsNotAboutTheServerStopsTrainingWithItsMessage() {
        FakeGroupSource.Server bad = new FakeGroupSource.Server("bad", 0);
        bad.failWith = Status.INVALID_ARGUMENT.withDescription("max_tokens beyond the context");
        bad.lostFailure = false;
        h.start(2, Duration.ofSeconds(30), bad);

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> h.producer.take(START));

        assertTrue(e.getMessage().contains("max_tokens beyond the context"), e.getMessage());
    }
}
