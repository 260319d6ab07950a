package dev.rollout.client;

import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.ResetPrefixCacheRequest;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The trainer's side of the rollout contract (design §3) over one or more servers.
 * {@link #generate} spreads a batch over all servers and returns one response in global order; unary calls are
 * repeated with backoff while a server is UNAVAILABLE (see {@link RetryPolicy}). Thread-safe.
 */
public final class RolloutClient implements AutoCloseable {
    private final ClientConfig config;
    private final List<ServerConnection> connections;
    private final ExecutorService calls;

    public RolloutClient(ClientConfig config) {
        this.config = config;
        List<ServerConnection> conns = new ArrayList<>();
        for (ServerAddress a : config.servers()) {
            conns.add(new ServerConnection(a, config));
        }
        this.connections = List.copyOf(conns);
        AtomicInteger threads = new AtomicInteger();
        this.calls = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "rollout-client-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public ClientConfig config() {
        return config;
    }

    public List<ServerAddress> servers() {
        return config.servers();
    }

    List<ServerConnection> connections() {
        return connections;
    }

    /** The connections to {@code servers}, in that order; each must be one of {@link #servers()}. */
    List<ServerConnection> connections(List<ServerAddress> servers) {
        List<ServerConnection> out = new ArrayList<>();
        for (ServerAddress a : servers) {
            out.add(connections.stream().filter(c -> c.address().equals(a)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(a + " is not one of this client's servers " + servers())));
        }
        return out;
    }

    /**
     * Generates {@code sampling.n} completions for each prompt (prompts round robin over the servers, called in
     * parallel) and returns them ordered by (prompt_index, sample_index), prompt_index being the position in
     * {@code prompts}, with the servers' usage summed. Servers refuse the batch with FAILED_PRECONDITION if their
     * weights are older than {@code minWeightVersion}; completions are checked against it here too.
     *
     * @throws RolloutServerException naming the server whose call failed (the other servers' calls are cancelled)
     */
    public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
        return generate(connections, prompts, sampling, minWeightVersion, false);
    }

    /**
     * As {@link #generate}, over {@code servers} only and with one attempt per server, for a caller that moves a
     * failed server's work to the others itself. A server that returns aborted completions (it is shutting down) fails
     * as UNAVAILABLE: such completions stopped early and must not be trained on.
     *
     * @throws RolloutServerException naming the first server whose call failed (the other servers' calls are cancelled)
     */
    public GenerateBatchResponse generateOnce(List<ServerAddress> servers, List<Prompt> prompts, SamplingParams sampling,
                                              long minWeightVersion) {
        return generate(connections(servers), prompts, sampling, minWeightVersion, true);
    }

    private GenerateBatchResponse generate(List<ServerConnection> on, List<Prompt> prompts, SamplingParams sampling,
                                           long minWeightVersion, boolean once) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("generate needs at least one prompt");
        }
        if (on.isEmpty()) {
            throw new IllegalArgumentException("generate needs at least one server");
        }
        int n = Math.max(1, sampling.getN());
        BatchSplit split = BatchSplit.roundRobin(prompts.size(), on.size());
        String requestId = UUID.randomUUID().toString();
        ExecutorCompletionService<Void> done = new ExecutorCompletionService<>(calls);
        List<GenerateBatchResponse> responses = new ArrayList<>(Collections.nCopies(on.size(), null));
        List<Future<Void>> futures = new ArrayList<>();
        for (int s = 0; s < on.size(); s++) {
            if (split.numPrompts(s) == 0) {
                continue;
            }
            int server = s;
            GenerateBatchRequest request = GenerateBatchRequest.newBuilder()
                    .addAllPrompts(split.promptsFor(s, prompts))
                    .setSampling(sampling)
                    .setRequestId(requestId + "/" + s)
                    .setMinWeightVersion(minWeightVersion)
                    .build();
            futures.add(done.submit(() -> {
                ServerConnection c = on.get(server);
                GenerateBatchResponse r = once
                        ? withoutAborted(c, c.callOnce("GenerateBatch", stub -> stub.generateBatch(request)))
                        : c.call("GenerateBatch", stub -> stub.generateBatch(request));
                synchronized (responses) {
                    responses.set(server, r);
                }
                return null;
            }));
        }
        awaitAll(done, futures);
        synchronized (responses) {
            return split.reassemble(responses, on.stream().map(ServerConnection::address).toList(), n, minWeightVersion);
        }
    }

    private static GenerateBatchResponse withoutAborted(ServerConnection c, GenerateBatchResponse r) {
        long aborted = r.getCompletionsList().stream()
                .filter(x -> x.getFinishReason() == dev.rollout.proto.v1.FinishReason.FINISH_REASON_ABORTED).count();
        if (aborted > 0) {
            throw new RolloutServerException(c.address(), "GenerateBatch", Status.UNAVAILABLE.withDescription("the server aborted "
                    + aborted + " of " + r.getCompletionsCount() + " completion(s); it is shutting down").asRuntimeException(), 1);
        }
        return r;
    }

    /** Waits for every call; on the first failure cancels the rest (interrupting a blocking call cancels it) and rethrows. */
    private static void awaitAll(ExecutorCompletionService<Void> done, List<Future<Void>> futures) {
        try {
            for (int i = 0; i < futures.size(); i++) {
                done.take().get();
            }
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("generate failed", e.getCause());
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the rollout servers");
        }
    }

    /** The model description of the first server (all servers are expected to serve the same model). */
    public ModelInfo modelInfo() {
        return modelInfo(connections.get(0));
    }

    /** The model description of every server, in the order of {@link #servers()}; weight versions may differ. */
    public List<ModelInfo> modelInfos() {
        List<ModelInfo> out = new ArrayList<>();
        for (ServerConnection c : connections) {
            out.add(modelInfo(c));
        }
        return out;
    }

    /**
     * The model description of one server, asked once, waiting at most {@code patience} for it to be reachable: a
     * probe of a server that may be down (UNAVAILABLE or DEADLINE_EXCEEDED while it is).
     */
    public ModelInfo probe(ServerAddress server, Duration patience) {
        ServerConnection c = connections(List.of(server)).get(0);
        return c.probe("GetModelInfo", stub -> stub.getModelInfo(GetModelInfoRequest.getDefaultInstance()), patience);
    }

    private static ModelInfo modelInfo(ServerConnection c) {
        return c.call("GetModelInfo", stub -> stub.getModelInfo(GetModelInfoRequest.getDefaultInstance()));
    }

    /** Drops every server's prefix cache; returns the number of blocks freed over all servers. */
    public long resetPrefixCache() {
        long freed = 0;
        for (ServerConnection c : connections) {
            freed += c.call("ResetPrefixCache",
                    stub -> stub.resetPrefixCache(ResetPrefixCacheRequest.getDefaultInstance())).getBlocksFreed();
        }
        return freed;
    }

    /**
     * Waits until every server reports SERVING on the standard health service (grpc.health.v1, overall status),
     * polling while a server is not up yet or not yet serving.
     *
     * @throws RolloutServerException naming the first server not ready within {@code timeout}, or one without a
     *                                health service
     */
    public void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (ServerConnection c : connections) {
            String last = "no answer";
            for (int poll = 1; ; poll++) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    throw new RolloutServerException(c.address(), "Health.Check", Status.DEADLINE_EXCEEDED
                            .withDescription("not SERVING within " + timeout + "; last answer: " + last)
                            .asRuntimeException(), poll - 1);
                }
                try {
                    HealthCheckResponse r = c.health(Duration.ofNanos(Math.min(remaining, Duration.ofSeconds(5).toNanos())))
                            .check(HealthCheckRequest.newBuilder().setService("").build());
                    if (r.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
                        break;
                    }
                    last = r.getStatus().name();
                } catch (StatusRuntimeException e) {
                    Status.Code code = e.getStatus().getCode();
                    if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED) {
                        throw new RolloutServerException(c.address(), "Health.Check", e, poll);
                    }
                    last = code + (e.getStatus().getDescription() != null ? ": " + e.getStatus().getDescription() : "");
                }
                long wait = Math.min(Duration.ofMillis(Math.min(50L * poll, 500)).toNanos(), Math.max(0, deadline - System.nanoTime()));
                c.sleep(Duration.ofNanos(wait), "Health.Check", poll);
                c.resetConnectBackoff();
            }
        }
    }

    @Override
    public void close() {
        calls.shutdownNow();
        connections.forEach(ServerConnection::close);
    }
}
