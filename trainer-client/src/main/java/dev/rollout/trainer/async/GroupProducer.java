package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.data.PromptRow;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ServerLoad load = new ServerLoad();
    private final Map<Long, InFlightGroup> inFlight = new HashMap<>();
    private final Deque<InFlightGroup> toRestart = new ArrayDeque<>();
    private final TreeMap<Long, Group> ready = new TreeMap<>(); // by ticket: the order the groups were started in
    private final Thread thread;
    private long nextTicket;
    /** Groups a {@link #take} in progress has taken out of the queue: still ahead of any group started now. */
    private int heldByTrainer;
    private final Admission admission;
    private long dropped;
    private long regenerated;
    private RuntimeException failure;
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
        this.admission = new Admission(settings.budget(), version);
        this.thread = new Thread(this::run, "rollout-producer");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Waits for the oldest {@code groupsPerBatch} ready groups fit for the policy at {@code policyVersion}; a group
     * too stale for it is dropped, counted, and replaced by the next one ready.
     */
    public ReadyBatch take(long policyVersion) {
        long start = System.nanoTime();
        int want = settings.budget().groupsPerBatch();
        List<Group> out = new ArrayList<>();
        lock.lock();
        try {
            admission.takeStarted(policyVersion);
            changed.signalAll();
            boolean waited = false;
            while (out.size() < want) {
                if (ready.isEmpty() && failure == null) {
                    waited = true;
                    admission.trainerWaiting(true);
                    changed.signalAll();
                }
                while (ready.isEmpty() && failure == null) {
                    changed.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
                }
                admission.trainerWaiting(false);
                if (failure != null) {
                    throw new IllegalStateException("async generation stopped: " + failure.getMessage(), failure);
                }
                Group g = ready.pollFirstEntry().getValue();
                if (settings.budget().tooStale(policyVersion, g.oldestVersion())) {
                    dropped++;
                    LOG.info("dropped group {}: its oldest token is from weight version {}, {} behind the policy's {} "
                            + "(max_staleness {})", g.index(), g.oldestVersion(), policyVersion - g.oldestVersion(),
                            policyVersion, settings.budget().maxStaleness());
                    changed.signalAll();
                    continue;
                }
                out.add(g);
                heldByTrainer = out.size();
            }
            heldByTrainer = 0;
            admission.taken(policyVersion, waited);
            changed.signalAll();
            return new ReadyBatch(out, (System.nanoTime() - start) / 1e9, readyCompletions(), dropped, regenerated);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while waiting for rollouts");
        } finally {
            heldByTrainer = 0;
            admission.trainerWaiting(false);
            lock.unlock();
        }
    }

    /** Every server in use now holds {@code version} (a push to them finished). */
    public void published(long version) {
        lock.lock();
        try {
            admission.published(version);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Calls {@code f} with the draws of every group started and not yet taken by the trainer (in flight, to be
     * started again, or ready), while no group can start or be taken: what a checkpoint taken now must not count as
     * trained.
     */
    public <T> T withUntrainedDraws(Function<Set<Long>, T> f) {
        lock.lock();
        try {
            Set<Long> draws = new TreeSet<>(inFlight.keySet());
            toRestart.forEach(g -> draws.add(g.index));
            ready.values().forEach(g -> draws.add(g.index()));
            return f.apply(draws);
        } finally {
            lock.unlock();
        }
    }

    /** Completions being generated now, over all servers. */
    public int inFlightCompletions() {
        lock.lock();
        try {
            return inFlight.values().stream().mapToInt(f -> settings.numGenerations() - f.received.size()).sum();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        try {
            while (running) {
                List<ServerAddress> servers = source.available();
                failHungServers();
                lock.lock();
                try {
                    while (running && failure == null && startOne(servers)) {
                        // keep starting groups while the budget and a server allow
                    }
                    changed.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } finally {
                    lock.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /** Starts one group if one may start; the caller holds the lock. */
    private boolean startOne(List<ServerAddress> servers) {
        int n = settings.numGenerations();
        ServerAddress server = load.leastLoaded(servers);
        if (server == null || inFlightCompletionsLocked() + n > settings.maxInflightCompletions()
                || readyCompletions() + inFlightCompletionsLocked() + n > settings.queueMaxCompletions()) {
            return false;
        }
        // a group started again may be overtaken by every group outstanding, so it is admitted as if it came last
        long ahead = inFlight.size() + ready.size() + toRestart.size() + heldByTrainer - (toRestart.isEmpty() ? 0 : 1);
        if (!admission.admits(ahead)) {
            return false;
        }
        InFlightGroup old = toRestart.poll();
        // a restart keeps its index (its seeds) but takes the last ticket, so it cannot overtake the groups counted ahead
        InFlightGroup group;
        if (old != null) {
            group = new InFlightGroup(old.index, nextTicket++, old.row, server);
        } else {
            DrawnPrompt next = prompts.get();
            group = new InFlightGroup(next.draw(), nextTicket++, next.row(), server);
        }
        inFlight.put(group.index, group);
        load.add(server, (long) n * settings.maxTokens());
        group.cancel = source.start(server, toPrompt.apply(group.row), samplingFor.apply(group.index), admission.published(),
                listener(group));
        return true;
    }

    private GroupSource.Listener listener(InFlightGroup group) {
        return new GroupSource.Listener() {
            @Override
            public void completion(Completion c) {
                locked(() -> {
                    if (current(group)) {
                        group.received.add(c);
                        load.remove(group.server, settings.maxTokens());
                        load.heard(group.server);
                    }
                });
            }

            @Override
            public void done() {
                String aborted = null;
                lock.lock();
                try {
                    if (!current(group)) {
                        return;
                    }
                    boolean cut = group.received.stream().anyMatch(c -> c.getFinishReason() == FinishReason.FINISH_REASON_ABORTED);
                    if (cut || group.received.size() != settings.numGenerations()) {
                        aborted = cut ? "it aborted a completion (shutting down)"
                                : "it sent " + group.received.size() + " of " + settings.numGenerations() + " completions";
                    } else {
                        inFlight.remove(group.index);
                        List<Completion> sorted = new ArrayList<>(group.received);
                        sorted.sort(Comparator.comparingInt(Completion::getSampleIndex));
                        ready.put(group.ticket, new Group(group.index, group.row, List.copyOf(sorted)));
                        changed.signalAll();
                    }
                } finally {
                    lock.unlock();
                }
                if (aborted != null) {
                    failed(new IllegalStateException("server " + group.server + " ended group " + group.index + " early: " + aborted), true);
                }
            }

            @Override
            public void failed(Throwable error, boolean serverLost) {
                lock.lock();
                try {
                    if (!current(group)) {
                        return;
                    }
                    release(group);
                    if (!serverLost) {
                        failure = new IllegalStateException("generation of group " + group.index + " on " + group.server
                                + " failed: " + error.getMessage(), error);
                        changed.signalAll();
                        return;
                    }
                    toRestart.add(group);
                    regenerated++;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
                LOG.warn("rollout server {} lost group {} ({}); it is generated again on another server", group.server,
                        group.index, error.getMessage());
                source.lost(group.server, error.getMessage());
            }
        };
    }

    /** A server with work outstanding that has been silent for the liveness timeout is probed; if it does not answer, its groups go elsewhere. */
    private void failHungServers() {
        List<ServerAddress> silent = new ArrayList<>();
        locked(() -> {
            long now = System.nanoTime();
            inFlight.values().stream().map(f -> f.server).distinct()
                    .filter(s -> load.silentNanos(s, now) > settings.liveness().toNanos()).forEach(silent::add);
        });
        for (ServerAddress s : silent) {
            if (source.answers(s)) {
                locked(() -> load.heard(s));
                continue;
            }
            List<InFlightGroup> lost = new ArrayList<>();
            locked(() -> {
                for (InFlightGroup f : List.copyOf(inFlight.values())) {
                    if (f.server.equals(s)) {
                        release(f);
                        toRestart.add(f);
                        regenerated++;
                        lost.add(f);
                    }
                }
                changed.signalAll();
            });
            String why = "silent for " + settings.liveness().toMillis() + " ms with work outstanding and no answer to a probe";
            LOG.warn("rollout server {} looks hung ({}); its {} group(s) in flight are generated again elsewhere", s, why, lost.size());
            lost.forEach(f -> f.cancel.run());
            source.lost(s, why);
        }
    }

    /** Takes {@code group} out of the in-flight set and its server's load; the caller holds the lock. */
    private void release(InFlightGroup group) {
        inFlight.remove(group.index);
        load.remove(group.server, (long) (settings.numGenerations() - group.received.size()) * settings.maxTokens());
    }

    private boolean current(InFlightGroup group) {
        return inFlight.get(group.index) == group;
    }

    private int inFlightCompletionsLocked() {
        return inFlight.values().stream().mapToInt(f -> settings.numGenerations() - f.received.size()).sum();
    }

    private int readyCompletions() {
        return ready.size() * settings.numGenerations();
    }

    private void fail(RuntimeException e) {
        locked(() -> {
            failure = e;
            changed.signalAll();
        });
    }

    private void locked(Runnable r) {
        lock.lock();
        try {
            r.run();
        } finally {
            lock.unlock();
        }
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
        List<InFlightGroup> open = new ArrayList<>();
        locked(() -> {
            open.addAll(inFlight.values());
            inFlight.clear();
        });
        open.forEach(f -> f.cancel.run());
    }
}
