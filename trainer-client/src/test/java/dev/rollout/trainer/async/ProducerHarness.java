package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.data.PromptRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A producer against fake servers, with the trainer played by the test: take a generation batch, "train" (one version
 * per batch), publish. {@value #N} completions a group, {@value #GROUPS_PER_BATCH} groups a batch, from version
 * {@value #START}.
 */
final class ProducerHarness implements AutoCloseable {
    static final int N = 4;
    static final int GROUPS_PER_BATCH = 2;
    static final long START = 1;
    private final AtomicInteger prompts = new AtomicInteger();
    FakeGroupSource source;
    GroupProducer producer;

    GroupProducer start(int maxStaleness, Duration liveness, FakeGroupSource.Server... servers) {
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
    List<Long> train(int steps, long trainMillis) throws InterruptedException {
        List<Long> staleness = new ArrayList<>();
        long version = START;
        for (int step = 0; step < steps; step++) {
            ReadyBatch batch = producer.take(version);
            assertEquals(GROUPS_PER_BATCH, batch.groups().size());
            List<Completion> all = new ArrayList<>();
            batch.groups().forEach(g -> all.addAll(g.completions()));
            staleness.add(Staleness.of(all, version).max());
            Thread.sleep(trainMillis);
            version++;
            publish(version); // the push reached the servers
        }
        return staleness;
    }

    /** Waits (up to 10 s) until {@code server} has been sent {@code count} groups, and asserts it got no more. */
    void awaitStarted(FakeGroupSource.Server server, int count) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.started.size() < count && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertEquals(count, server.started.size(), "groups sent to " + server.address + ": " + server.started);
    }

    /** Waits (up to 10 s) until {@code take} returned or is waiting inside the producer. */
    void awaitWaitingOrDone(Future<ReadyBatch> take) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!take.isDone() && !producer.trainerWaiting() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
    }

    /** The servers hold {@code version}, and the producer is told so. */
    void publish(long version) {
        source.version.set(version);
        producer.published(version);
    }

    static List<Long> indices(ReadyBatch batch) {
        return batch.groups().stream().map(Group::index).toList();
    }

    @Override
    public void close() {
        if (source == null) {
            return;
        }
        source.lostGate.countDown();
        if (producer != null) {
            producer.close();
        }
        source.close();
    }
}
