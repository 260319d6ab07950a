package dev.rollout.trainer.rollout;

import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.RolloutServerException;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.ServerSyncResult;
import dev.rollout.client.WeightPushException;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.Policy;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rollouts from one or more rollout servers; weights pushed to every server that is up, in parallel, after every step.
 *
 * <p>A server that goes away (killed, restarted, rescheduled) does not end the run. It is set aside while it is down
 * ({@link SetAsideServers}), and its share of a generation goes to the servers that are up. When it answers again with
 * a weight version behind the trainer's (a restarted server serves what it loaded), it is sent the trainer's current
 * weights before it gets any prompt. While no server is up, the trainer waits with the retry policy's backoff, logging
 * each wait, and gives up after its attempts. No completion from weights older than this run's first publication is
 * accepted, whatever {@code rollout.min_weight_version} says, so a step never trains on a restarted server's initial
 * weights.
 */
public final class RemoteRollouts implements RolloutSource {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteRollouts.class);

    private final RolloutClient client;
    private final RetryPolicy patience;
    private final ModelPush push;
    private final SetAsideServers setAside;
    private long published = -1;
    private long firstPublished;

    public RemoteRollouts(RolloutClient client, Policy policy, int chunkBytes) {
        this.client = client;
        this.patience = client.config().retry();
        this.push = new ModelPush(client, policy, chunkBytes);
        this.setAside = new SetAsideServers(client, push);
    }

    public RolloutClient client() {
        return client;
    }

    @Override
    public synchronized GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
        long floor = Math.max(minWeightVersion, firstPublished);
        for (int failures = 0; ; ) {
            setAside.catchUp(false, published);
            if (setAside.upToDate().isEmpty()) {
                setAside.awaitAServer("generate", published);
            }
            List<ServerAddress> live = setAside.upToDate();
            try {
                return client.generateOnce(live, prompts, sampling, floor);
            } catch (RolloutServerException e) {
                if (!isLost(e) || ++failures > patience.maxAttempts()) {
                    throw e;
                }
                setAside.add(e.server(), statusText(e.status()));
                List<ServerAddress> others = setAside.upToDate();
                LOG.warn("rollout server {} failed during generation ({}); {}", e.server(), statusText(e.status()),
                        others.isEmpty() ? "waiting for it to come back" : "generating its share on " + others);
            }
        }
    }

    /** Pushes to the servers that are up to date; one set aside gets the weights when it is back. */
    @Override
    public synchronized Publication publish(long version) {
        long start = System.nanoTime();
        if (published < 0) {
            firstPublished = version;
        }
        published = version;
        List<ServerAddress> targets = setAside.upToDate();
        List<ServerSyncResult> results = List.of();
        if (!targets.isEmpty()) {
            try {
                results = push.toServersInUse(version, targets);
            } catch (WeightPushException e) {
                for (Map.Entry<ServerAddress, Throwable> f : e.failures().entrySet()) {
                    if (!isLost(f.getValue())) {
                        throw e;
                    }
                    setAside.add(f.getKey(), f.getValue().getMessage());
                }
                results = e.succeeded();
                LOG.warn("weight version {} did not reach {} ({}); {}", version, e.failures().keySet(), e.getMessage(),
                        results.isEmpty() ? "waiting for a server" : "each gets the current weights when it is back");
            }
        }
        if (results.isEmpty()) {
            setAside.awaitAServer("take weight version " + version, published);
        }
        long bytes = results.stream().mapToLong(ServerSyncResult::bytesSent).max().orElse(0);
        return new Publication(bytes, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The servers that hold the published weights and may take work, after asking those set aside whether they are
     * back; waits with logged backoff while there is none. While every server is up to date it answers without
     * waiting for a weight push in progress.
     */
    public List<ServerAddress> available() {
        if (setAside.none()) {
            return client.servers();
        }
        synchronized (this) {
            setAside.catchUp(false, published);
            if (setAside.upToDate().isEmpty()) {
                setAside.awaitAServer("generate", published);
            }
            return setAside.upToDate();
        }
    }

    /** Sets {@code server} aside as down: no work until it is back and holds the published weights. */
    public synchronized void lost(ServerAddress server, String why) {
        if (!setAside.contains(server)) {
            LOG.warn("rollout server {} set aside ({}); the others go on", server, why);
        }
        setAside.add(server, why);
    }

    /** The highest weight version the servers in use serve now; a server that does not answer a probe is set aside. */
    public synchronized long servingVersion() {
        long version = 0;
        for (ServerAddress s : setAside.upToDate()) {
            try {
                version = Math.max(version, client.probe(s, SetAsideServers.PROBE_PATIENCE).getWeightVersion());
            } catch (RolloutServerException e) {
                setAside.add(s, statusText(e.status()));
            }
        }
        return version;
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
                return client.probe(e.server(), SetAsideServers.PROBE_PATIENCE).getWeightVersion() < published;
            } catch (RolloutServerException probe) {
                return probe.status().getCode() == Status.Code.UNAVAILABLE
                        || probe.status().getCode() == Status.Code.DEADLINE_EXCEEDED;
            }
        }
        return false;
    }

    static String statusText(Status s) {
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
