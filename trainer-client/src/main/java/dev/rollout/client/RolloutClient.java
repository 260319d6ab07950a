package dev.rollout.client;

import dev.rollout.proto.v1.Completion;
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
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The trainer's side of the rollout contract (design §3) over one or more servers.
 * {@link #generate} spreads a batch over all servers and returns one response in global order; unary calls are
 * repeated with backoff while a server is UNAVAILABLE (see {@link RetryPolicy}). Thread-safe.
 */
public final class RolloutClient implements AutoCloseable {
    private static final Duration PROBE_PATIENCE = Duration.ofSeconds(5);
    private final ClientConfig config;
    private final List<ServerConnection> connections;
    private final ExecutorService calls;
    /** Silence after which a server with a call outstanding is probed, or null for never. */
    private final Duration liveness;

    public RolloutClient(ClientConfig config) {
        this(config, null);
    }

    /**
     * @param liveness while a generation call is outstanding, each server still working on it is probed after this
     *                 long without an answer; one that does not answer the probe fails the call as UNAVAILABLE (a hung
     *                 server), so that its work can go elsewhere. Null: wait for the call's deadline.
     */
    public RolloutClient(ClientConfig config, Duration liveness) {
        this.config = config;
        this.liveness = liveness;
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
        Map<Future<Void>, ServerConnection> futures = new LinkedHashMap<>();
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
            futures.put(done.submit(() -> {
                ServerConnection c = on.get(server);
                GenerateBatchResponse r = once
                        ? withoutAborted(c, c.callOnce("GenerateBatch", stub -> stub.generateBatch(request)))
                        : c.call("GenerateBatch", stub -> stub.generateBatch(request));
                synchronized (responses) {
                    responses.set(server, r);
                }
                return null;
            }), on.get(server));
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

    /**
     * Waits for every call; on the first failure cancels the rest (interrupting a blocking call cancels it) and
     * rethrows. With a liveness timeout, a server still working that stays silent that long is probed, and one that
     * does not answer fails the whole call as UNAVAILABLE.
     */
    private void awaitAll(ExecutorCompletionService<Void> done, Map<Future<Void>, ServerConnection> futures) {
        try {
            for (int finished = 0; finished < futures.size(); ) {
                Future<Void> f = liveness == null ? done.take() : done.poll(liveness.toNanos(), TimeUnit.NANOSECONDS);
                if (f == null) {
                    probeOutstanding(futures);
                    continue;
                }
                f.get();
                finished++;
            }
        } catch (ExecutionException e) {
            futures.keySet().forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("generate failed", e.getCause());
        } catch (InterruptedException e) {
            futures.keySet().forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the rollout servers");
        } catch (RuntimeException e) {
            futures.keySet().forEach(f -> f.cancel(true));
            throw e;
        }
    }

    private void probeOutstanding(Map<Future<Void>, ServerConnection> futures) {
        for (Map.Entry<Future<Void>, ServerConnection> e : futures.entrySet()) {
            if (e.getKey().isDone() || answers(e.getValue().address())) {
                continue;
            }
            throw new RolloutServerException(e.getValue().address(), "GenerateBatch", Status.UNAVAILABLE.withDescription(
                    "no answer for " + liveness.toMillis() + " ms and none to a GetModelInfo probe either: treated as down"
                            + " (hung); rollout.liveness_timeout_seconds sets how long to wait").asRuntimeException(), 1);
        }
    }

    /** True when {@code server} answers GetModelInfo within the probe patience (at most 5 s, less with a shorter liveness timeout). */
    public boolean answers(ServerAddress server) {
        Duration patience = liveness == null || liveness.compareTo(PROBE_PATIENCE) > 0 ? PROBE_PATIENCE : liveness;
        try {
            probe(server, patience);
            return true;
        } catch (RolloutServerException e) {
            return false;
        }
    }

    /**
     * Streams {@code request}'s completions from {@code server} as each finishes, one attempt, under the call deadline.
     *
     * @return cancels the call (the observer then sees CANCELLED)
     */
    public Runnable generateStream(ServerAddress server, GenerateBatchRequest request, StreamObserver<Completion> observer) {
        ServerConnection c = connections(List.of(server)).get(0);
        c.resetConnectBackoff();
        AtomicReference<ClientCallStreamObserver<GenerateBatchRequest>> call = new AtomicReference<>();
        c.async().withDeadlineAfter(config.deadline().toNanos(), TimeUnit.NANOSECONDS).generateStream(request,
                new ClientResponseObserver<GenerateBatchRequest, Completion>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<GenerateBatchRequest> requestStream) {
                        call.set(requestStream);
                    }

                    @Override
                    public void onNext(Completion value) {
                        observer.onNext(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        observer.onError(new RolloutServerException(server, "GenerateStream",
                                t instanceof StatusRuntimeException sre ? sre : Status.fromThrowable(t).asRuntimeException(), 1));
                    }

                    @Override
                    public void onCompleted() {
                        observer.onCompleted();
                    }
                });
        return () -> {
            ClientCallStreamObserver<GenerateBatchRequest> r = call.get();
            if (r != null) {
                r.cancel("the trainer moved this group elsewhere or stopped", null);
            }
        };
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

    /**
     * Waits until at least one server reports SERVING, polling every server; returns those that do not yet, so that
     * the caller can use the others and wait for these.
     *
     * @throws RolloutServerException naming the first server when none is SERVING within {@code timeout}
     */
    public List<ServerAddress> awaitAnyReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<ServerAddress, String> last = new LinkedHashMap<>();
        for (int poll = 1; ; poll++) {
            List<ServerAddress> notServing = new ArrayList<>();
            for (ServerConnection c : connections) {
                try {
                    HealthCheckResponse r = c.health(Duration.ofSeconds(1)).check(HealthCheckRequest.newBuilder().setService("").build());
                    if (r.getStatus() != HealthCheckResponse.ServingStatus.SERVING) {
                        notServing.add(c.address());
                        last.put(c.address(), r.getStatus().name());
                    }
                } catch (StatusRuntimeException e) {
                    Status.Code code = e.getStatus().getCode();
                    if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED) {
                        throw new RolloutServerException(c.address(), "Health.Check", e, poll);
                    }
                    notServing.add(c.address());
                    last.put(c.address(), code.name());
                }
                c.resetConnectBackoff();
            }
            if (notServing.size() < connections.size()) {
                return notServing;
            }
            if (System.nanoTime() >= deadline) {
                throw new RolloutServerException(connections.get(0).address(), "Health.Check", Status.DEADLINE_EXCEEDED
                        .withDescription("no rollout server was SERVING within " + timeout + "; last answers: " + last)
                        .asRuntimeException(), poll);
            }
            long wait = Math.min(Duration.ofMillis(Math.min(50L * poll, 500)).toNanos(), Math.max(0, deadline - System.nanoTime()));
            connections.get(0).sleep(Duration.ofNanos(wait), "Health.Check", poll);
        }
    }

    @Override
    public void close() {
        calls.shutdownNow();
        connections.forEach(ServerConnection::close);
    }
}
