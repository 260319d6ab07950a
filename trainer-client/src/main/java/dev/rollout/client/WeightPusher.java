package dev.rollout.client;

import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pushes named tensors (Hugging Face names) to every server of a {@link RolloutClient} with SyncWeights, to all
 * servers in parallel: a header {version, tensor_count, partial}, then each tensor in chunks (see {@link PushOptions}).
 * Each server applies the set atomically or not at all.
 */
public final class WeightPusher {
    private static final Logger log = LoggerFactory.getLogger(WeightPusher.class);
    private final RolloutClient client;
    private final PushOptions options;

    public WeightPusher(RolloutClient client) {
        this(client, PushOptions.DEFAULT);
    }

    public WeightPusher(RolloutClient client, PushOptions options) {
        this.client = client;
        this.options = options;
    }

    public PushOptions options() {
        return options;
    }

    /**
     * Sends {@code tensors} as weight version {@code version} and waits for every server. The header carries the
     * tensors' content digest, so a server already serving this version with these tensors answers
     * {@code already_applied}, which counts as success. A push to a server that ends in DEADLINE_EXCEEDED may still
     * have been applied there, so it is retried once: the retry either completes it or is recognised as applied.
     *
     * @param partial false when {@code tensors} is the whole model (the server refuses a full sync that misses any)
     * @return one result per server, in the order of {@link RolloutClient#servers()}
     * @throws WeightPushException if any server failed, naming each failed server and why, and listing the others
     */
    public List<ServerSyncResult> push(long version, List<HostTensor> tensors, boolean partial) {
        return push(version, header(partial), tensors, client.servers());
    }

    /** As {@link #push(long, List, boolean)}, to {@code servers} only (some of the client's), e.g. one that restarted. */
    public List<ServerSyncResult> push(long version, List<HostTensor> tensors, boolean partial, List<ServerAddress> servers) {
        return push(version, header(partial), tensors, servers);
    }

    /**
     * As {@link #push(long, List, boolean, List)}, with the header's other fields (partial, a LoRA adapter's spec and
     * base fingerprint) taken from {@code header}.
     */
    public List<ServerSyncResult> push(long version, SyncWeightsHeader header, List<HostTensor> tensors, List<ServerAddress> servers) {
        checkTensors(tensors);
        byte[] digest = SyncDigest.of(tensors, options.wireDType(), options.chunkBytes());
        List<ServerConnection> connections = client.connections(servers);
        List<SyncCall> calls = new ArrayList<>();
        for (ServerConnection c : connections) {
            calls.add(start(c, version, header, tensors, digest));
        }
        List<SyncCall> inFlight = new ArrayList<>(calls); // what an interruption must cancel
        List<ServerSyncResult> succeeded = new ArrayList<>();
        Map<ServerAddress, Throwable> failures = new LinkedHashMap<>();
        for (int i = 0; i < calls.size(); i++) {
            SyncCall call = calls.get(i);
            Throwable failure = await(call, inFlight, version);
            if (failure != null && Status.fromThrowable(failure).getCode() == Status.Code.DEADLINE_EXCEEDED) {
                log.warn("weight push of version {} to {} passed its deadline; retrying once (a server that applied it "
                        + "recognises the content digest)", version, call.server());
                call = start(connections.get(i), version, header, tensors, digest);
                inFlight.add(call);
                failure = await(call, inFlight, version);
            }
            if (failure != null) {
                failures.put(call.server(), failure);
                continue;
            }
            SyncWeightsResponse response = call.result().join();
            if (response.getAlreadyApplied()) {
                log.info("{} already served weight version {} with these tensors: nothing was sent again", call.server(), version);
            }
            succeeded.add(new ServerSyncResult(call.server(), response, call.bytesSent(), call.seconds()));
        }
        if (!failures.isEmpty()) {
            throw new WeightPushException(version, failures, succeeded);
        }
        return succeeded;
    }

    private static SyncWeightsHeader header(boolean partial) {
        return SyncWeightsHeader.newBuilder().setPartial(partial).build();
    }

    private SyncCall start(ServerConnection c, long version, SyncWeightsHeader header, List<HostTensor> tensors, byte[] digest) {
        SyncCall call = new SyncCall(c.address(), new SyncStream(version, header, tensors, digest, options));
        c.async().withDeadlineAfter(options.deadline().toNanos(), TimeUnit.NANOSECONDS).syncWeights(call);
        return call;
    }

    /** Waits for {@code call}: null when it succeeded, else why it failed. Interruption cancels {@code all}. */
    private static Throwable await(SyncCall call, List<SyncCall> all, long version) {
        try {
            call.result().get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            all.forEach(c -> c.cancel("the trainer was interrupted"));
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while pushing weight version " + version);
        }
    }

    /** Problems the trainer can see before sending anything. */
    private void checkTensors(List<HostTensor> tensors) {
        Set<String> names = new HashSet<>();
        for (HostTensor t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' appears twice in the weight push");
            }
            TensorChunks.checkConvertible(t, options.wireDType());
        }
    }
}
