package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The producer's groups started and not yet taken by the trainer (in flight, waiting to start again after their
 * server was lost, ready), with the lock every part of the producer holds while it reads or moves them, and the
 * condition it signals on every change. Only its lock-taking methods may be called without the lock.
 */
final class Outstanding {
    private final int numGenerations;
    private final int maxTokens;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    final ServerLoad load = new ServerLoad();
    private final Map<Long, InFlightGroup> inFlight = new HashMap<>();
    private final Deque<InFlightGroup> toRestart = new ArrayDeque<>();
    private final TreeMap<Long, Group> ready = new TreeMap<>(); // by ticket: the order the groups were started in
    private long nextTicket;
    /** Groups a take in progress has taken out of the queue: still ahead of any group started now. */
    int heldByTrainer;
    long dropped;
    long regenerated;
    /** A failure that stops the producer, reported by the trainer's next take. */
    RuntimeException failure;

    Outstanding(int numGenerations, int maxTokens) {
        this.numGenerations = numGenerations;
        this.maxTokens = maxTokens;
    }

    void lock() {
        lock.lock();
    }

    void unlock() {
        lock.unlock();
    }

    void locked(Runnable r) {
        lock.lock();
        try {
            r.run();
        } finally {
            lock.unlock();
        }
    }

    <T> T locked(Supplier<T> f) {
        lock.lock();
        try {
            return f.get();
        } finally {
            lock.unlock();
        }
    }

    void signal() {
        changed.signalAll();
    }

    /** Waits for a change, or {@code millis} at most; the caller holds the lock. */
    void await(long millis) throws InterruptedException {
        changed.await(millis, TimeUnit.MILLISECONDS);
    }

    void fail(RuntimeException e) {
        locked(() -> {
            failure = e;
            changed.signalAll();
        });
    }

    /** Groups a group started now would be trained behind; a group started again may be overtaken by all of them. */
    long ahead() {
        return inFlight.size() + ready.size() + toRestart.size() + heldByTrainer - (toRestart.isEmpty() ? 0 : 1);
    }

    /**
     * Starts the next group on {@code server}: the oldest waiting to start again (keeping its index, so its seeds,
     * but taking the last ticket: it cannot overtake the groups counted ahead of it), else a new prompt.
     */
    InFlightGroup start(ServerAddress server, Supplier<DrawnPrompt> prompts, long floor) {
        InFlightGroup old = toRestart.poll();
        InFlightGroup group;
        if (old != null) {
            group = new InFlightGroup(old.index, nextTicket++, old.row, server, floor);
        } else {
            DrawnPrompt next = prompts.get();
            group = new InFlightGroup(next.draw(), nextTicket++, next.row(), server, floor);
        }
        inFlight.put(group.index, group);
        load.add(server, (long) numGenerations * maxTokens);
        return group;
    }

    /** False for an attempt given up on (its server lost or hung): its late callbacks are ignored. */
    boolean current(InFlightGroup group) {
        return inFlight.get(group.index) == group;
    }

    void received(InFlightGroup group, Completion c) {
        group.received.add(c);
        load.remove(group.server, maxTokens);
        load.heard(group.server);
    }

    /** Every completion of {@code group} arrived: it is ready for the trainer. */
    void arrived(InFlightGroup group) {
        inFlight.remove(group.index);
        List<Completion> sorted = new ArrayList<>(group.received);
        sorted.sort(Comparator.comparingInt(Completion::getSampleIndex));
        ready.put(group.ticket, new Group(group.index, group.row, List.copyOf(sorted)));
        changed.signalAll();
    }

    /** Takes {@code group} out of the in-flight set and its server's load. */
    void release(InFlightGroup group) {
        inFlight.remove(group.index);
        load.remove(group.server, (long) (numGenerations - group.received.size()) * maxTokens);
    }

    /** {@code group}'s server was lost: it is started again, on another server, and counted. */
    void restart(InFlightGroup group) {
        release(group);
        toRestart.add(group);
        regenerated++;
        changed.signalAll();
    }

    /** The groups in flight on {@code server}. */
    List<InFlightGroup> onServer(ServerAddress server) {
        return inFlight.values().stream().filter(f -> f.server.equals(server)).toList();
    }

    /** Servers with a group in flight. */
    Set<ServerAddress> busyServers() {
        Set<ServerAddress> out = new LinkedHashSet<>();
        inFlight.values().forEach(f -> out.add(f.server));
        return out;
    }

    /** Empties the in-flight set, returning what was in it. */
    List<InFlightGroup> clearInFlight() {
        List<InFlightGroup> open = new ArrayList<>(inFlight.values());
        inFlight.clear();
        return open;
    }

    /**
     * The group a take for the policy at {@code policyVersion} with {@code slotsLeft} groups still to take takes next,
     * by ticket, out of the queue; null while it has to wait. A take takes the oldest groups ready, not waiting for
     * one still in flight unless that group is <em>due</em>: the next batch would be too late for it (admission put
     * it in this one, and it finished after groups started later). Its slot is then kept, and the take waits for it,
     * while {@code keepSlotsForDue}. A due group already ready goes first, so it cannot be crowded out.
     */
    Map.Entry<Long, Group> nextToTake(StalenessBudget budget, long policyVersion, int slotsLeft, boolean keepSlotsForDue) {
        for (Map.Entry<Long, Group> e : ready.entrySet()) {
            if (budget.dueAt(policyVersion, e.getValue().oldestVersion())) {
                Map.Entry<Long, Group> taken = Map.entry(e.getKey(), e.getValue());
                ready.remove(e.getKey());
                return taken;
            }
        }
        long kept = keepSlotsForDue ? dueInFlight(budget, policyVersion).size() : 0;
        return !ready.isEmpty() && slotsLeft > kept ? ready.pollFirstEntry() : null;
    }

    /** The groups in flight that a take for the policy at {@code policyVersion} has to wait for. */
    List<Long> dueInFlight(StalenessBudget budget, long policyVersion) {
        return inFlight.values().stream().filter(f -> budget.dueAt(policyVersion, f.floor)).map(f -> f.index).sorted().toList();
    }

    /** The draws of every group started and not yet taken. */
    Set<Long> untrainedDraws() {
        Set<Long> draws = new TreeSet<>(inFlight.keySet());
        toRestart.forEach(g -> draws.add(g.index));
        ready.values().forEach(g -> draws.add(g.index()));
        return draws;
    }

    int inFlightCompletions() {
        return inFlight.values().stream().mapToInt(f -> numGenerations - f.received.size()).sum();
    }

    int readyCompletions() {
        return ready.size() * numGenerations;
    }
}
