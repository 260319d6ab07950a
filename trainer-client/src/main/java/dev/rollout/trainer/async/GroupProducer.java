package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.data.PromptRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer of async generation: a thread that keeps the servers busy with one streamed call per group, each
 * sent to the least-loaded server, as long as the staleness budget, {@code max_inflight_tasks} and
 * {@code queue_maxsize} allow, and no further ahead of the trainer than it needs ({@link Admission}); and the
 * queue of finished groups the trainer takes from, oldest first.
 *
 * <p>A server that goes away, hangs (work outstanding, silent for the liveness timeout, and no answer to a probe)
 * or comes back as a new process loses only its groups in flight: they are started again on another server, keeping
 * their place in the order, and counted. Any other failure of a call stops the producer and fails the trainer's next
 * {@link #take}.
 */
public final class GroupProducer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupProducer.class);
    private static final long POLL_MILLIS = 50;

    /** What the producer needs from the run's config. */
    public record Settings(StalenessBudget budget, int numGenerations, int maxTokens, int maxInflightCompletions,
            int queueMaxCompletions, Duration liveness) {}

    private final GroupSource source;
    private final Supplier<DrawnPrompt> prompts;
    private final Function<PromptRow, Prompt> toPrompt;
    private final Function<Long, SamplingParams> samplingFor;
    private final Settings settings;
    private final Outstanding outstanding;
    private final LostServers lostServers;
    private final Admission admission;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * @param samplingFor the sampling parameters of the group with a given index (its seed differs per group)
     * @param version     the policy version training starts from, published to every server
     */
    public GroupProducer(GroupSource source, Supplier<DrawnPrompt> prompts, Function<PromptRow, Prompt> toPrompt,
            Function<Long, SamplingParams> samplingFor, Settings settings, long version) {
        this.source = source;
        this.prompts = prompts;
        this.toPrompt = toPrompt;
        this.samplingFor = samplingFor;
        this.settings = settings;
        this.outstanding = new Outstanding(settings.numGenerations(), settings.maxTokens());
        this.lostServers = new LostServers(source, outstanding, settings.liveness());
        this.admission = new Admission(settings.budget(), version);
        this.thread = new Thread(this::run, "rollout-producer");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Waits for the oldest {@code groupsPerBatch} ready groups fit for the policy at {@code policyVersion}; a group
     * too stale for it is dropped, counted, and replaced by the next one ready. A group still in flight that this
     * batch is the last one fit for is waited for, up to the liveness timeout, rather than overtaken by groups started
     * after it (see {@link Outstanding#nextToTake}).
     */
    public ReadyBatch take(long policyVersion) {
        long start = System.nanoTime();
        long keepSlotsUntil = start + settings.liveness().toNanos();
        int want = settings.budget().groupsPerBatch();
        TreeMap<Long, Group> out = new TreeMap<>(); // by ticket, as started
        outstanding.lock();
        try {
            admission.takeStarted(policyVersion);
            outstanding.signal();
            boolean waited = false;
            boolean gaveUpOnDue = false;
            while (out.size() < want) {
                if (outstanding.failure != null) {
                    throw new IllegalStateException("async generation stopped: " + outstanding.failure.getMessage(),
                            outstanding.failure);
                }
                boolean keepSlots = System.nanoTime() < keepSlotsUntil;
                if (!keepSlots && !gaveUpOnDue) {
                    gaveUpOnDue = true;
                    List<Long> late = outstanding.dueInFlight(settings.budget(), policyVersion);
                    if (!late.isEmpty()) {
                        LOG.warn("group(s) {} still in flight after {} ms, the liveness timeout: the batch for version {} "
                                + "takes later groups; these arrive too stale (unless lost and started again)", late,
                                settings.liveness().toMillis(), policyVersion);
                    }
                }
                Map.Entry<Long, Group> next = outstanding.nextToTake(settings.budget(), policyVersion,
                        want - out.size(), keepSlots);
                if (next == null) {
                    if (!admission.trainerWaiting()) {
                        waited = true;
                        admission.trainerWaiting(true);
                        outstanding.signal();
                    }
                    outstanding.await(POLL_MILLIS);
                    continue;
                }
                admission.trainerWaiting(false);
                Group g = next.getValue();
                if (settings.budget().tooStale(policyVersion, g.oldestVersion())) {
                    outstanding.dropped++;
                    LOG.info("dropped group {}: its oldest token is from weight version {}, {} behind the policy's {} "
                            + "(max_staleness {})", g.index(), g.oldestVersion(), policyVersion - g.oldestVersion(),
                            policyVersion, settings.budget().maxStaleness());
                    outstanding.signal();
                    continue;
                }
                out.put(next.getKey(), g);
                outstanding.heldByTrainer = out.size();
            }
            outstanding.heldByTrainer = 0;
            admission.taken(policyVersion, waited);
            outstanding.signal();
            return new ReadyBatch(List.copyOf(out.values()), (System.nanoTime() - start) / 1e9,
                    outstanding.readyCompletions(), outstanding.dropped, outstanding.regenerated);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while waiting for rollouts");
        } finally {
            outstanding.heldByTrainer = 0;
            admission.trainerWaiting(false);
            outstanding.unlock();
        }
    }

    /** True while a take is waiting for groups (for tests that act while the trainer waits). */
    boolean trainerWaiting() {
        return outstanding.locked(() -> admission.trainerWaiting());
    }

    /** Every server in use now holds {@code version} (a push to them finished). */
    public void published(long version) {
        outstanding.locked(() -> {
            admission.published(version);
            outstanding.signal();
        });
    }

    /**
     * Calls {@code f} with the draws of every group started and not yet taken by the trainer (in flight, to be
     * started again, or ready), while no group can start or be taken: what a checkpoint taken now must not count as
     * trained.
     */
    public <T> T withUntrainedDraws(Function<Set<Long>, T> f) {
        return outstanding.locked(() -> f.apply(outstanding.untrainedDraws()));
    }

    /** Completions being generated now, over all servers. */
    public int inFlightCompletions() {
        return outstanding.locked(outstanding::inFlightCompletions);
    }

    private void run() {
        try {
            while (running) {
                long listing = outstanding.locked(lostServers::listingStarts);
                List<ServerAddress> listed = source.available();
                lostServers.failHungServers();
                outstanding.lock();
                try {
                    List<ServerAddress> servers = lostServers.usable(listed, listing);
                    while (running && outstanding.failure == null && startOne(servers)) {
                        // keep starting groups while the budget and a server allow
                    }
                    outstanding.await(POLL_MILLIS);
                } finally {
                    outstanding.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            outstanding.fail(e);
        }
    }

    /** Starts one group if one may start; the caller holds the lock. */
    private boolean startOne(List<ServerAddress> servers) {
        int n = settings.numGenerations();
        ServerAddress server = outstanding.load.leastLoaded(servers);
        int inFlight = outstanding.inFlightCompletions();
        if (server == null || inFlight + n > settings.maxInflightCompletions()
                || outstanding.readyCompletions() + inFlight + n > settings.queueMaxCompletions()
                || !admission.admits(outstanding.ahead())) {
            return false;
        }
        InFlightGroup group = outstanding.start(server, prompts, admission.published());
        group.cancel = source.start(server, toPrompt.apply(group.row), samplingFor.apply(group.index),
                admission.published(), new GroupCall(group, outstanding, lostServers, n));
        return true;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        outstanding.locked(outstanding::clearInFlight).forEach(f -> f.cancel.run());
    }
}
