package dev.rollout.client;

import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Pushes named tensors (Hugging Face names) to every server of a {@link RolloutClient} with SyncWeights, to all
 * servers in parallel: a header {version, tensor_count, partial}, then each tensor in chunks (see {@link PushOptions}).
 * Each server applies the set atomically or not at all.
 */
public final class WeightPusher {
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
     * Sends {@code tensors} as weight version {@code version} and waits for every server.
     *
     * @param partial false when {@code tensors} is the whole model (the server refuses a full sync that misses any)
     * @return one result per server, in the order of {@link RolloutClient#servers()}
     * @throws WeightPushException if any server failed, naming each failed server and why, and listing the others
     */
    public List<ServerSyncResult> push(long version, List<HostTensor> tensors, boolean partial) {
        return push(version, SyncWeightsHeader.newBuilder().setPartial(partial).build(), tensors);
    }

    /**
     * As {@link #push(long, List, boolean)}, with the header's other fields (partial, a LoRA adapter's spec and base
     * fingerprint) taken from {@code header}.
     */
    public List<ServerSyncResult> push(long version, SyncWeightsHeader header, List<HostTensor> tensors) {
        checkTensors(tensors);
        List<SyncCall> calls = new ArrayList<>();
        for (ServerConnection c : client.connections()) {
            SyncCall call = new SyncCall(c.address(), new SyncStream(version, header, tensors, options));
            c.async().withDeadlineAfter(options.deadline().toNanos(), TimeUnit.NANOSECONDS).syncWeights(call);
            calls.add(call);
        }
        List<ServerSyncResult> succeeded = new ArrayList<>();
        Map<ServerAddress, Throwable> failures = new LinkedHashMap<>();
        for (SyncCall call : calls) {
            try {
                succeeded.add(new ServerSyncResult(call.server(), call.result().get(), call.bytesSent(), call.seconds()));
            } catch (ExecutionException e) {
                failures.put(call.server(), e.getCause());
            } catch (InterruptedException e) {
                calls.forEach(c -> c.cancel("the trainer was interrupted"));
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while pushing weight version " + version);
            }
        }
        if (!failures.isEmpty()) {
            throw new WeightPushException(version, failures, succeeded);
        }
        return succeeded;
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
