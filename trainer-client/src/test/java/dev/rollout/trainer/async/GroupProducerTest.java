package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.data.PromptRow;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The async producer against fake servers, with the trainer played by the test: take a generation batch, "train" (one
 * version per batch), publish. The properties checked hold whatever the threads' timing, so the tests do not depend on
 * how loaded the machine is; the delays only make one side the slow one.
 */
class GroupProducerTest {
    private static final int N = 4;
    private static final int GROUPS_PER_BATCH = 2;
    private static final long START = 1;
    private final AtomicInteger prompts = new AtomicInteger();
    private FakeGroupSource source;
    private GroupProducer producer;

    @AfterEach
    void close() {
        source.lostGate.countDown();
        if (producer != null) {
            producer.close();
        }
        source.close();
    }

    private GroupProducer producer(int maxStaleness, Duration liveness, FakeGroupSource.Server... servers) {
        source = new FakeGroupSource(START, servers);
        StalenessBudget budget = new StalenessBudget(GROUPS_PER_BATCH, 1, maxStaleness);
        producer = new GroupProducer(source, () -> {
                    int draw = prompts.getAndIncrement();
                    return new DrawnPrompt(draw, new PromptRow("p" + draw, null, Map.of()));
                },
                row -> Prompt.newBuilder().setText(row.text()).build(),
                index -> SamplingParams.newBuilder().setN(N).setMaxTokens(FakeGroupSource.TOKENS).setSeed(index).build(),
                new GroupProducer.Settings(budget, N, FakeGroupSource.TOKENS, 1024, 1024, liveness), START);
        return producer;
    }

    /** Runs {@code steps} generation batches, each trained for {@code trainMillis}; returns the staleness of each. */
    private List<Long> train(int steps, long trainMillis) throws InterruptedException {
        List<Long> staleness = new ArrayList<>();
        long version = START;
        for (int step = 0; step < steps; step++) {
            ReadyBatch batch = producer.take(version);
            assertEquals(GROUPS_PER_BATCH, batch.groups().size());
            List<dev.rollout.proto.v1.Completion> all = new ArrayList<>();
            batch.groups().forEach(g -> all.addAll(g.completions()));
            staleness.add(Staleness.of(all, version).max());
            Thread.sleep(trainMillis);
            version++;
            publish(version); // the push reached the servers
        }
        return staleness;
    }

    /** Waits (up to 10 s) until {@code server} has been sent {@code count} groups. */
    private static void awaitStarted(FakeGroupSource.Server server, int count) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.started.size() < count && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertEquals(count, server.started.size(), "groups sent to " + server.address + ": " + server.started);
    }

    /** Waits (up to 10 s) until {@code take} returned or is waiting inside the producer. */
    private void awaitWaitingOrDone(Future<ReadyBatch> take) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!take.isDone() && !producer.trainerWaiting() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
    }

    private void publish(long version) {
        source.version.set(version);
        producer.published(version);
    }

    private static List<Long> indices(ReadyBatch batch) {
        return batch.groups().stream().map(Group::index).toList();
    }

    @Test
    void withASlowTrainerNoTokenIsTrainedMoreThanMaxStalenessVersionsLate() throws Exception {
        producer(2, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = train(12, 30);

        assertTrue(staleness.stream().allMatch(s -> s <= 2), "staleness per batch " + staleness);
        assertEquals(0, producer.take(START + 12).droppedGroups(), "admission keeps every group within the bound");
    }

    @Test
    void withASlowServerNoTokenIsTrainedMoreThanMaxStalenessVersionsLate() throws Exception {
        producer(1, Duration.ofSeconds(30), new FakeGroupSource.Server("slow", 40));

        List<Long> staleness = train(8, 0);

        assertTrue(staleness.stream().allMatch(s -> s <= 1), "staleness per batch " + staleness);
        assertEquals(0, producer.take(START + 8).droppedGroups(), "a group finishing late is waited for, not dropped");
    }

    @Test
    void aGroupStillInFlightIsWaitedForInTheLastBatchFitForItNotOvertakenAndDropped() throws Exception {
        // max_staleness 1, two groups a batch: groups 0 and 1 are admitted for the first batch, and 2 and 3 for the
        // second while the trainer waits for the first; every group finishes only when the test releases it
        FakeGroupSource.Server server = new FakeGroupSource.Server("s", 0);
        server.held = true;
        producer(1, Duration.ofSeconds(30), server);
        ExecutorService trainer = Executors.newSingleThreadExecutor();
        try {
            Future<ReadyBatch> first = trainer.submit(() -> producer.take(START));
            awaitStarted(server, 4);
            // group 0 is late; the second batch still fits it (1 version past its weights), so the first take may
            // take groups started after it
            server.release(1);
            server.release(2);
            assertEquals(List.of(1L, 2L), indices(first.get(10, TimeUnit.SECONDS)));
            publish(START + 1);
            awaitStarted(server, 6); // groups 4 and 5, from version 2
            server.release(3);
            server.release(4);
            server.release(5);

            // the second batch is group 0's last (the third is 2 versions past its weights): its take waits for it
            // rather than take groups 4 or 5, which fit the third
            Future<ReadyBatch> second = trainer.submit(() -> producer.take(START + 1));
            awaitWaitingOrDone(second);
            server.release(0);
            ReadyBatch batch = second.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(0L, 3L), indices(batch), "group 0 in the last batch fit for it, with the oldest ready");
            publish(START + 2);
            ReadyBatch third = producer.take(START + 2);

            assertEquals(List.of(4L, 5L), indices(third));
            assertEquals(0, third.droppedGroups(), "no group was dropped");
        } finally {
            trainer.shutdownNow();
        }
    }

    @Test
    void aTakeWaitsForADueGroupNoLongerThanTheLivenessTimeout() throws Exception {
        // as above, but group 0 never finishes: the second take gives up on it after the liveness timeout and takes
        // later groups; group 0, if it ever came, would be dropped as too stale
        FakeGroupSource.Server server = new FakeGroupSource.Server("s", 0);
        server.held = true;
        producer(1, Duration.ofMillis(300), server);
        ExecutorService trainer = Executors.newSingleThreadExecutor();
        try {
            Future<ReadyBatch> first = trainer.submit(() -> producer.take(START));
            awaitStarted(server, 4);
            server.release(1);
            server.release(2);
            first.get(10, TimeUnit.SECONDS);
            publish(START + 1);
            awaitStarted(server, 6);
            server.release(3);
            server.release(4);
            server.release(5);

            ReadyBatch batch = producer.take(START + 1);

            assertEquals(List.of(3L, 4L), indices(batch));
            assertTrue(batch.waitSeconds() >= 0.3, "waited " + batch.waitSeconds() + " s for group 0 first");
        } finally {
            trainer.shutdownNow();
        }
    }

    @Test
    void atMaxStalenessZeroEveryTokenIsFromThePolicyThatTrainsOnIt() throws Exception {
        producer(0, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = train(6, 10);

        assertEquals(List.of(0L, 0L, 0L, 0L, 0L, 0L), staleness);
    }

    @Test
    void withASlowTrainerGroupsStartOnlyOneBatchAheadOfItNotAsFarAsTheBudgetAllows() throws Exception {
        producer(4, Duration.ofSeconds(30), new FakeGroupSource.Server("fast", 0));

        List<Long> staleness = train(6, 250);
        Thread.sleep(200);

        // taken 6 batches; the first take may have waited (a second batch then started early), the others found
        // theirs ready: at most the next batch is outstanding, where the budget alone would admit 4
        int started = FakeGroupSource.allStarted(source).size();
        assertTrue(started <= 8 * GROUPS_PER_BATCH, started + " groups started for 6 batches taken");
        assertTrue(staleness.stream().allMatch(s -> s <= 2), "staleness per batch " + staleness);
        assertTrue(staleness.subList(3, 6).stream().allMatch(s -> s <= 1), "staleness per batch " + staleness);
    }

    @Test
    void groupsNeverStartMoreThanTheBudgetAhead() throws Exception {
        // a server slower than the trainer's first take: the trainer waits, so the producer may run ahead
        producer(2, Duration.ofSeconds(30), new FakeGroupSource.Server("slow", 300));
        producer.take(START);

        // the trainer "trains" for long: the producer fills what the budget allows, then stops
        long until = System.nanoTime() + 20_000_000_000L;
        while (FakeGroupSource.allStarted(source).size() < 3 * GROUPS_PER_BATCH && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        int started = FakeGroupSource.allStarted(source).size();

        // batch 0 taken; while it trains, batches 1 (staleness 1) and 2 (staleness 2) may be generated, not batch 3
        assertEquals(3 * GROUPS_PER_BATCH, started);
    }

    @Test
    void aGroupTooStaleAtTrainingTimeIsDroppedCountedAndReplaced() throws Exception {
        FakeGroupSource.Server server = new FakeGroupSource.Server("s", 0);
        server.staleVersionOnce = START - 5;
        producer(2, Duration.ofSeconds(30), server);
        // the stale group (the first started) must be ready before the trainer asks: a batch filled by fresh groups
        // that finished before it would leave it to the next take
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((server.started.isEmpty() || producer.inFlightCompletions() > 0) && System.nanoTime() < until) {
            Thread.sleep(10);
        }

        ReadyBatch batch = producer.take(START);

        assertEquals(1, batch.droppedGroups());
        assertEquals(GROUPS_PER_BATCH, batch.groups().size());
        assertTrue(batch.groups().stream().allMatch(g -> g.oldestVersion() == START), "only fresh groups are trained on");
    }

    @Test
    void groupsGoToTheServerWithTheFewestTokensInFlight() throws Exception {
        FakeGroupSource.Server busy = new FakeGroupSource.Server("busy", 60_000);
        FakeGroupSource.Server free = new FakeGroupSource.Server("free", 0);
        // max_staleness 4: the busy server's group is not yet due in the third batch, so no take waits for it
        producer(4, Duration.ofSeconds(30), busy, free);

        train(3, 0);

        // the busy server never finishes a group, so every group trained on came from the other
        assertTrue(free.started.size() >= 3 * GROUPS_PER_BATCH, "free " + free.started + ", busy " + busy.started);
        assertTrue(busy.started.size() >= 1, "the first group goes to the first server listed (a tie)");
    }

    @Test
    void aServerThatDiesLosesOnlyItsGroupsInFlightWhichAreGeneratedElsewhere() throws Exception {
        FakeGroupSource.Server dying = new FakeGroupSource.Server("dying", 0);
        dying.failWith = Status.UNAVAILABLE.withDescription("connection refused");
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        producer(2, Duration.ofSeconds(30), dying, healthy);

        List<Long> staleness = train(4, 0);

        assertEquals(4, staleness.size());
        assertEquals(List.of(dying.address), source.lost.stream().distinct().toList());
        ReadyBatch next = producer.take(START + 4);
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
        producer(4, Duration.ofSeconds(30), failing, healthy);
        long until = System.nanoTime() + 20_000_000_000L;
        while ((healthy.started.size() < 2 || producer.inFlightCompletions() > 0) && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        Thread.sleep(100); // the two groups are ready before the trainer asks, so only their order decides

        ReadyBatch batch = producer.take(START);

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
        producer(4, Duration.ofSeconds(30), failing, healthy);
        source.lostGate = telling;

        awaitStarted(healthy, 2); // group 1, then group 0 again

        assertEquals(List.of(0L), failing.started, "group 0 went to the failing server once");
        assertEquals(List.of(1L, 0L), List.copyOf(healthy.started));
        telling.countDown();
        healthy.release(1);
        healthy.release(0);
        ReadyBatch batch = producer.take(START);
        assertEquals(List.of(1L, 0L), indices(batch));
        assertEquals(1, batch.regeneratedGroups(), "regenerated once");
    }

    @Test
    void aHungServersGroupIsNotSentBackToIt() throws Exception {
        // the producer's own list of servers, got before it found the server hung, still names it
        FakeGroupSource.Server hung = new FakeGroupSource.Server("hung", 0);
        hung.hang = true;
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        healthy.held = true;
        producer(4, Duration.ofMillis(100), hung, healthy);

        awaitStarted(healthy, 2); // group 1, then group 0 again once the hung server's silence ran out

        assertEquals(List.of(0L), hung.started, "group 0 went to the hung server once");
        assertEquals(List.of(1L, 0L), List.copyOf(healthy.started));
        healthy.release(1);
        healthy.release(0);
        ReadyBatch batch = producer.take(START);
        assertEquals(List.of(1L, 0L), indices(batch));
        assertEquals(1, batch.regeneratedGroups(), "regenerated once");
    }

    @Test
    void aHungServerIsFailedOverAfterTheLivenessTimeout() throws Exception {
        FakeGroupSource.Server hung = new FakeGroupSource.Server("hung", 0);
        hung.hang = true;
        FakeGroupSource.Server healthy = new FakeGroupSource.Server("healthy", 0);
        producer(2, Duration.ofMillis(100), hung, healthy);

        List<Long> staleness = train(3, 0);
        long until = System.nanoTime() + 20_000_000_000L; // the liveness timeout counts from the group's start
        while (source.lost.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(20);
        }

        assertEquals(3, staleness.size(), "training went on with the healthy server");
        assertEquals(List.of(hung.address), source.lost.stream().distinct().toList());
        assertTrue(producer.take(START + 3).regeneratedGroups() >= 1, "the hung server's group was generated again");
    }

    @Test
    void aFailureThatIsNotAboutTheServerStopsTrainingWithItsMessage() {
        FakeGroupSource.Server bad = new FakeGroupSource.Server("bad", 0);
        bad.failWith = Status.INVALID_ARGUMENT.withDescription("max_tokens beyond the context");
        bad.lostFailure = false;
        producer(2, Duration.ofSeconds(30), bad);

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> producer.take(START));

        assertTrue(e.getMessage().contains("max_tokens beyond the context"), e.getMessage());
    }
}
