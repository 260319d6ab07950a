package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.trainer.async.Group;
import dev.rollout.trainer.async.GroupSource;
import dev.rollout.trainer.rollout.RolloutSource;
import dev.rollout.trainer.rollout.Rollouts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Async mode against a real server that goes away in the middle of a run and comes back as a new process would (a
 * fresh server on the same port, serving its own initial weights at version 0): its groups are generated again and
 * counted, and it is sent the trainer's current weights before it gets any new group.
 */
class AsyncServerRestartTest {
    private static final int STEPS = 6;
    /** The producer's group whose start finds the server gone. */
    private static final int KILL_AT_GROUP = 6;

    @TempDir
    Path tmp;

    @Test
    void aServerLostAndRestartedGetsTheCurrentWeightsBeforeAnyNewGroupAndItsLostGroupsAreRegenerated() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        AtomicReference<LoopbackServer> server = new AtomicReference<>(new LoopbackServer(model));
        int port = server.get().port();
        Restarts restarts = new Restarts(model, port, server);
        List<StepRecord> records = new ArrayList<>();
        try (TrainingRun run = new TrainingRun(TestRuns.config(model, tmp.resolve("run"), STEPS, "rollout.mode=server",
                "rollout.servers=localhost:" + port, "async_generation=true", "max_staleness=2",
                "rollout.max_attempts=120", "rollout.retry_backoff_seconds=0.1", "rollout.retry_max_backoff_seconds=0.5"),
                null, new SimpleMeterRegistry(), (cfg, policy, checkpoint) -> restarts.wrap(Rollouts.create(cfg, policy, checkpoint)))) {
            run.publishInitialWeights(Rollouts.currentVersion(restarts.delegate));
            long firstVersion = run.state().weightVersion();
            run.train(0, records::add);

            assertEquals(STEPS, records.size(), "training went on through the restart");
            assertNotNull(restarts.versionAtLoss.get(), "the server was lost");
            assertTrue(restarts.restartedServedFirst.get() >= restarts.versionAtLoss.get(), "the restarted server served "
                    + "version " + restarts.restartedServedFirst.get() + " to its first new group; the trainer had published "
                    + restarts.versionAtLoss.get() + " when it was lost");
            double regenerated = records.get(STEPS - 1).metrics().get("async/regenerated_groups");
            assertTrue(regenerated >= 1, "the group started on the lost server was generated again: " + regenerated);
            assertEquals(0.0, records.get(STEPS - 1).metrics().get("async/dropped_groups"));
            for (StepRecord r : records) {
                for (Completion c : r.completions()) {
                    assertTrue(Group.tokenVersions(c)[0] >= firstVersion, "step " + r.step() + " trained on a completion "
                            + "from version " + c.getWeightVersion() + ", not from weights the trainer published");
                }
            }
        } finally {
            server.get().close();
        }
    }

    /** The run's rollout source: at the producer's group {@link #KILL_AT_GROUP} the server goes away, and is back soon after. */
    private static final class Restarts {
        final Path model;
        final int port;
        final AtomicReference<LoopbackServer> server;
        final AtomicLong published = new AtomicLong();
        final AtomicReference<Long> versionAtLoss = new AtomicReference<>();
        final AtomicLong restartedServedFirst = new AtomicLong(-1);
        volatile boolean restarted;
        RolloutSource delegate;
        int groups;

        Restarts(Path model, int port, AtomicReference<LoopbackServer> server) {
            this.model = model;
            this.port = port;
            this.server = server;
        }

        RolloutSource wrap(RolloutSource source) {
            delegate = source;
            return new RolloutSource() {
                @Override
                public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
                    return delegate.generate(prompts, sampling, minWeightVersion);
                }

                @Override
                public Publication publish(long version) {
                    Publication p = delegate.publish(version);
                    published.set(version);
                    return p;
                }

                @Override
                public GroupSource groups() {
                    return groupsWithARestart(delegate.groups());
                }

                @Override
                public String describe() {
                    return delegate.describe();
                }

                @Override
                public void close() {
                    delegate.close();
                }
            };
        }

        GroupSource groupsWithARestart(GroupSource groups) {
            return new GroupSource() {
                @Override
                public List<ServerAddress> available() {
                    return groups.available();
                }

                @Override
                public Runnable start(ServerAddress address, Prompt prompt, SamplingParams sampling, long minWeightVersion,
                        Listener listener) {
                    if (++Restarts.this.groups == KILL_AT_GROUP) {
                        versionAtLoss.set(published.get());
                        close(server.get());
                        CompletableFuture.runAsync(Restarts.this::restart, CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
                    } else if (restarted && restartedServedFirst.get() < 0) {
                        restartedServedFirst.set(server.get().weightVersion());
                    }
                    return groups.start(address, prompt, sampling, minWeightVersion, listener);
                }

                @Override
                public boolean answers(ServerAddress address) {
                    return groups.answers(address);
                }

                @Override
                public void lost(ServerAddress address, String why) {
                    groups.lost(address, why);
                }
            };
        }

        void restart() {
            try {
                server.set(new LoopbackServer(model, port)); // a new process: its own weights, version 0
                restarted = true;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void close(LoopbackServer s) {
            try {
                s.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
