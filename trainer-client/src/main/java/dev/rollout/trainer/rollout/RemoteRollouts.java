package dev.rollout.trainer.rollout;

import dev.rollout.client.PushOptions;
import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.RolloutServerException;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.ServerSyncResult;
import dev.rollout.client.WeightPushException;
import dev.rollout.client.WeightPusher;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.trainer.Policy;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rollouts from one or more rollout servers; weights pushed to every server that is up, in parallel, after every step.
 *
 * <p>A server that goes away (killed, restarted, rescheduled) does not end the run. It is set aside while it is down,
 * and its share of a generation goes to the servers that are up. When it answers again with a weight version behind
 * the trainer's (a restarted server serves what it loaded), it is sent the trainer's current weights before it gets
 * any prompt. While no server is up, the trainer waits with the retry policy's backoff, logging each wait, and gives
 * up after its attempts. No completion from weights older than this run's first publication is accepted, whatever
 * {@code rollout.min_weight_version} says, so a step never trains on a restarted server's initial weights.
 */
public final class RemoteRollouts implements RolloutSource {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteRollouts.class);
    /** How long a probe of a server set aside waits for a connection: ample on a network, short against the steps. */
    private static final Duration PROBE_PATIENCE = Duration.ofSeconds(1);

    private final RolloutClient client;
    private final WeightPusher pusher;
    private final Policy policy;
    private final RetryPolicy patience;
    /** Servers that may not hold the published weights (down, restarted, or a push to them failed), with why. */
    private final Map<ServerAddress, String> behind = new LinkedHashMap<>();
    private final Map<ServerAddress, Long> nextProbeNanos = new LinkedHashMap<>();
    private long published = -1;
    private long firstPublished;
    /** With LoRA: whether the servers up to date hold the frozen base, so that a publication sends only the adapter. */
    private boolean serversHaveBase;
    private String baseFingerprint; // of the frozen base, computed once
    /** No server set aside: {@link #available} need not take the lock, which a weight push holds. */
    private volatile boolean allUpToDate = true;

    public RemoteRollouts(RolloutClient client, Policy policy, int chunkBytes) {
        this.client = client;
        this.policy = policy;
        this.pusher = new WeightPusher(client, new PushOptions(chunkBytes, DType.F32, PushOptions.DEFAULT.deadline()));
        this.patience = client.config().retry();
    }

    public RolloutClient client() {
        return client;
    }

    @Override
    public synchronized GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
        long floor = Math.max(minWeightVersion, firstPublished);
        for (int failures = 0; ; ) {
            catchUp(false);
            if (upToDate().isEmpty()) {
                awaitAServer("generate");
            }
            List<ServerAddress> live = upToDate();
            try {
                return client.generateOnce(live, prompts, sampling, floor);
            } catch (RolloutServerException e) {
                if (!isLost(e) || ++failures > patience.maxAttempts()) {
                    throw e;
                }
                setAside(e.server(), statusText(e.status()));
                List<ServerAddress> others = upToDate();
                LOG.warn("rollout server {} failed during generation ({}); {}", e.server(), statusText(e.status()),
                        others.isEmpty() ? "waiting for it to come back" : "generating its share on " + others);
            }
        }
    }

    /** Pushes to the servers that are up to date; one set aside gets the weights when it is back (see {@link #catchUp}). */
    @Override
    public synchronized Publication publish(long version) {
        long start = System.nanoTime();
        if (published < 0) {
            firstPublished = version;
        }
        published = version;
        List<ServerAddress> targets = upToDate();
        List<ServerSyncResult> results = List.of();
        if (!targets.isEmpty()) {
            try {
                results = pushTo(version, targets, !serversHaveBase);
            } catch (WeightPushException e) {
                for (Map.Entry<ServerAddress, Throwable> f : e.failures().entrySet()) {
                    if (!isLost(f.getValue())) {
                        throw e;
                    }
                    setAside(f.getKey(), f.getValue().getMessage());
                }
                results = e.succeeded();
                LOG.warn("weight version {} did not reach {} ({}); {}", version, e.failures().keySet(), e.getMessage(),
                        results.isEmpty() ? "waiting for a server" : "each gets the current weights when it is back");
            }
        }
        if (results.isEmpty()) {
            awaitAServer("take weight version " + version);
        }
        long bytes = results.stream().mapToLong(ServerSyncResult::bytesSent).max().orElse(0);
        return new Publication(bytes, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The policy's weights to {@code targets}. With LoRA, only the adapter's tensors, as a partial sync the servers merge
     * into the base they keep, unless {@code withBase}: then the frozen base too (a full sync), so that a server starts
     * from exactly the base the adapter trains on. A server that lost or replaced its base refuses an adapter with
     * FAILED_PRECONDITION, and the next publication sends the base again.
     */
    private List<ServerSyncResult> pushTo(long version, List<ServerAddress> targets, boolean withBase) {
        LoraAdapter adapter = policy.model().adapter();
        if (adapter == null) {
            return pusher.push(version, policy.model().weights().toHost(), false, targets);
        }
        List<HostTensor> tensors = new ArrayList<>();
        if (withBase || baseFingerprint == null) {
            List<HostTensor> base = policy.model().weights().toHost();
            baseFingerprint = BaseFingerprint.of(base);
            if (withBase) {
                tensors.addAll(base);
            }
        }
        tensors.addAll(adapter.toHost());
        SyncWeightsHeader header = SyncWeightsHeader.newBuilder()
                .setPartial(!withBase)
                .setLora(spec(adapter.config()))
                .setBaseFingerprint(baseFingerprint)
                .build();
        try {
            List<ServerSyncResult> results = pusher.push(version, header, tensors, targets);
            serversHaveBase = serversHaveBase || (withBase && targets.equals(upToDate()));
            return results;
        } catch (WeightPushException e) {
            boolean baseMissing = e.failures().values().stream()
                    .anyMatch(t -> Status.fromThrowable(t).getCode() == Status.Code.FAILED_PRECONDITION);
            if (baseMissing) {
                serversHaveBase = false;
            }
            throw e;
        }
    }

    static LoraAdapterSpec spec(LoraConfig c) {
        return LoraAdapterSpec.newBuilder().setR(c.r()).setLoraAlpha((float) c.alpha()).setUseRslora(c.useRslora())
                .addAllTargetModules(c.targetModuleNames()).build();
    }

    private List<ServerAddress> upToDate() {
        return client.servers().stream().filter(s -> !behind.containsKey(s)).toList();
    }

    private void setAside(ServerAddress server, String why) {
        behind.put(server, why);
        nextProbeNanos.putIfAbsent(server, System.nanoTime());
        allUpToDate = false;
    }

    /**
     * The servers that hold the published weights and may take work, after asking those set aside whether they are
     * back (see {@link #catchUp}); waits with logged backoff while there is none. While every server is up to date it
     * answers without waiting for a weight push in progress.
     */
    public List<ServerAddress> available() {
        if (allUpToDate) {
            return client.servers();
        }
        synchronized (this) {
            catchUp(false);
            if (upToDate().isEmpty()) {
                awaitAServer("generate");
            }
            allUpToDate = behind.isEmpty();
            return upToDate();
        }
    }

    /** Sets {@code server} aside as down: no work until it is back and holds the published weights. */
    public synchronized void lost(ServerAddress server, String why) {
        if (!behind.containsKey(server)) {
            LOG.warn("rollout server {} set aside ({}); the others go on", server, why);
        }
        setAside(server, why);
    }

    /** The highest weight version the servers in use serve now; a server that does not answer a probe is set aside. */
    public synchronized long servingVersion() {
        long version = 0;
        for (ServerAddress s : upToDate()) {
            try {
                version = Math.max(version, client.probe(s, PROBE_PATIENCE).getWeightVersion());
            } catch (RolloutServerException e) {
                setAside(s, statusText(e.status()));
            }
        }
        return version;
    }

    /**
     * Asks each server set aside whether it is back; one that is gets the current weights if it lacks them. Unless
     * {@code now}, a server that did not answer is asked again only after the retry policy's longest backoff
     * ({@code rollout.retry_max_backoff_seconds}), so that a server that stays down does not slow every step of the others.
     */
    private void catchUp(boolean now) {
        for (ServerAddress s : List.copyOf(behind.keySet())) {
            if (!now && System.nanoTime() < nextProbeNanos.getOrDefault(s, 0L)) {
                continue;
            }
            try {
                long serving = client.probe(s, PROBE_PATIENCE).getWeightVersion();
                if (published >= 0 && serving < published) {
                    LOG.info("rollout server {} answers with weight version {}, behind the trainer's {}: sending it the "
                            + "current weights", s, serving, published);
                    pushTo(published, List.of(s), true);
                }
                behind.remove(s);
                nextProbeNanos.remove(s);
                allUpToDate = behind.isEmpty();
                LOG.info("rollout server {} is back with the trainer's weights (version {})", s, Math.max(serving, published));
            } catch (RolloutServerException e) {
                behind.put(s, e.status().getCode() == Status.Code.DEADLINE_EXCEEDED
                        ? "not reachable within " + PROBE_PATIENCE.toSeconds() + " s" : statusText(e.status()));
                nextProbeNanos.put(s, System.nanoTime() + patience.maxBackoff().toNanos());
            } catch (WeightPushException e) {
                behind.put(s, e.getMessage());
                nextProbeNanos.put(s, System.nanoTime() + patience.maxBackoff().toNanos());
            }
        }
    }

    /** Waits with backoff until a server set aside is back and up to date; gives up after the retry policy's attempts. */
    private void awaitAServer(String toDo) {
        long start = System.nanoTime();
        for (int attempt = 1; attempt <= patience.maxAttempts(); attempt++) {
            Duration wait = patience.backoff(attempt);
            LOG.warn("no rollout server can {} ({}); trying again in {} s (attempt {} of {})", toDo, behind,
                    String.format("%.1f", wait.toMillis() / 1000.0), attempt, patience.maxAttempts());
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for a rollout server");
            }
            catchUp(true);
            if (!upToDate().isEmpty()) {
                return;
            }
        }
        throw new IllegalStateException("no rollout server came back within " + patience.maxAttempts() + " attempts over "
                + String.format("%.0f", (System.nanoTime() - start) / 1e9) + " s (" + behind + "); the run stops here. Once a "
                + "server is up, continue from the last checkpoint with --resume DIR (rollout.max_attempts and "
                + "rollout.retry_max_backoff_seconds set how long to wait)");
    }

    /**
     * True when a call failed because the server went away or came back as a new process, rather than because of what
     * was asked: then the work can go elsewhere or wait for it.
     */
    private boolean isLost(Throwable failure) {
        if (Thread.currentThread().isInterrupted()) {
            return false;
        }
        Status status = failure instanceof RolloutServerException e ? e.status() : Status.fromThrowable(failure);
        if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.CANCELLED) {
            // CANCELLED here comes from the server (this trainer cancels only when interrupted): it is shutting down
            return true;
        }
        if (status.getCode() == Status.Code.FAILED_PRECONDITION && failure instanceof RolloutServerException e) {
            // refused for old weights: a restart if the server is now behind what it was sent
            try {
                return client.probe(e.server(), PROBE_PATIENCE).getWeightVersion() < published;
            } catch (RolloutServerException probe) {
                return probe.status().getCode() == Status.Code.UNAVAILABLE
                        || probe.status().getCode() == Status.Code.DEADLINE_EXCEEDED;
            }
        }
        return false;
    }

    private static String statusText(Status s) {
        return s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "");
    }

    @Override
    public dev.rollout.trainer.async.GroupSource groups() {
        return new StreamingGroups(this);
    }

    @Override
    public String describe() {
        return client.servers().toString();
    }

    @Override
    public void close() {
        client.close();
    }
}
