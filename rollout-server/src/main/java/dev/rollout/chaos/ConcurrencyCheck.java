package dev.rollout.chaos;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Concurrent clients for a fixed time, each sending random generation requests (GenerateBatch or GenerateStream)
 * that it lets finish, cancels after a random delay, or gives a short deadline, while full weight syncs arrive at a
 * fixed interval. Every request neither cancelled nor out of time must be answered, completely and with finite
 * log-probs; every sync must be accepted; once idle every KV block must be free; the server's RSS must stay flat.
 */
final class ConcurrencyCheck {
    static final String NAME = "concurrent clients";
    /** Runs at least this long judge RSS growth; shorter ones only report it (warm-up dominates them). */
    static final double RSS_JUDGED_FROM_SECONDS = 60;
    /** A sync under load that takes longer than this is refused by its own deadline: it waited behind generation. */
    static final long SYNC_DEADLINE_MS = 60_000;

    /** What the concurrency check is given. */
    record Settings(int clients, double seconds, long syncIntervalMillis, double hangSeconds, long seed) {}

    private enum Mode { PLAIN, CANCEL, DEADLINE }

    private ConcurrencyCheck() {}

    static CheckResult run(ChaosTarget target, Settings s, Consumer<String> progress) throws Exception {
        CheckResult result = new CheckResult(NAME);
        ModelInfo info = target.info();
        long end = System.nanoTime() + (long) (s.seconds() * 1e9);
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        List<Long> rss = Collections.synchronizedList(new ArrayList<>());
        List<Long> heap = Collections.synchronizedList(new ArrayList<>());
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
        ExecutorService clients = Executors.newFixedThreadPool(s.clients());
        try {
            timers.scheduleAtFixedRate(() -> {
                synchronized (rss) {
                    rss.add(target.rssBytes());
                    heap.add(target.javaHeapCommittedBytes());
                }
            }, 0, 1, TimeUnit.SECONDS);
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int c = 0; c < s.clients(); c++) {
                SplittableRandom random = new SplittableRandom(s.seed() * 1_000_003L + c);
                running.add(clients.submit(() -> {
                    while (System.nanoTime() < end) {
                        request(target, info, random, s, timers, result, latencies);
                    }
                    return null;
                }));
            }
            int syncs = 0;
            long syncMillis = 0;
            while (System.nanoTime() < end) {
                Thread.sleep(Math.min(s.syncIntervalMillis(), Math.max(1, (end - System.nanoTime()) / 1_000_000)));
                if (System.nanoTime() >= end) {
                    break;
                }
                long version = target.info().getWeightVersion();
                List<byte[]> stream = SyncStreams.bytes(SyncStreams.full(info, version + 1, s.seed() + syncs));
                long syncStart = System.nanoTime();
                Status status = RawRpc.call(target.channel, RawRpc.Method.SYNC_WEIGHTS, stream, SYNC_DEADLINE_MS).get();
                syncMillis = Math.max(syncMillis, (System.nanoTime() - syncStart) / 1_000_000);
                syncs++;
                result.count("SyncWeights", status);
                if (!status.isOk()) {
                    result.fail("a valid sync under load was refused: " + status.getCode() + " " + status.getDescription());
                }
            }
            for (var f : running) {
                f.get((long) s.hangSeconds() + 30, TimeUnit.SECONDS);
            }
            result.fact("syncs", syncs);
            result.fact("slowest_sync_ms", syncMillis);
        } finally {
            clients.shutdownNow();
            timers.shutdownNow();
        }
        progress.accept("concurrent clients: " + result.total() + " calls done, checking the KV cache");
        int held = target.blocksHeldWhenIdle(15);
        result.fact("kv_blocks_held_when_idle", held);
        if (held != 0) {
            result.fail(held + " KV blocks still held 15 s after every client finished");
        }
        latencyFacts(result, latencies);
        synchronized (rss) {
            rssFacts(result, rss, heap, s.seconds());
        }
        return result;
    }

    private static void request(ChaosTarget target, ModelInfo info, SplittableRandom random, Settings s,
                                ScheduledExecutorService timers, CheckResult result, List<Long> latencies) throws InterruptedException {
        GenerateBatchRequest request = randomRequest(info, random);
        Mode mode = switch (random.nextInt(10)) {
            case 0, 1 -> Mode.CANCEL;
            case 2, 3 -> Mode.DEADLINE;
            default -> Mode.PLAIN;
        };
        boolean stream = random.nextInt(4) == 0;
        CallOptions options = CallOptions.DEFAULT;
        if (mode == Mode.DEADLINE) {
            options = options.withDeadlineAfter(50 + random.nextInt(2000), TimeUnit.MILLISECONDS);
        }
        long start = System.nanoTime();
        Answer answer = stream
                ? call(target, RolloutServiceGrpc.getGenerateStreamMethod(), options, request, List::of)
                : call(target, RolloutServiceGrpc.getGenerateBatchMethod(), options, request, GenerateBatchResponse::getCompletionsList);
        if (mode == Mode.CANCEL) {
            timers.schedule(() -> answer.call.cancel("the client gave up", null), random.nextInt(500), TimeUnit.MILLISECONDS);
        }
        String rpc = stream ? "GenerateStream" : "GenerateBatch";
        Status status;
        try {
            status = answer.status.get((long) (s.hangSeconds() * 1000), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            answer.call.cancel("no answer in time", null);
            result.count(rpc + " HUNG");
            result.fail(rpc + " without deadline got no answer within " + s.hangSeconds() + " s");
            return;
        } catch (java.util.concurrent.ExecutionException e) {
            status = Status.fromThrowable(e.getCause());
        }
        result.count(rpc, status);
        if (status.isOk()) {
            latencies.add((System.nanoTime() - start) / 1_000_000);
            String wrong = checkCompletions(request, answer.completions);
            if (wrong != null) {
                result.fail(rpc + ": " + wrong);
            }
            return;
        }
        boolean expected = switch (status.getCode()) {
            case CANCELLED -> mode == Mode.CANCEL;
            case DEADLINE_EXCEEDED -> mode == Mode.DEADLINE;
            case RESOURCE_EXHAUSTED -> true; // a full queue is an answer
            default -> false;
        };
        if (!expected && status.getCode() != Status.Code.UNKNOWN) {
            result.fail(rpc + " (" + mode.name().toLowerCase(java.util.Locale.ROOT) + ") got " + status.getCode() + ": " + status.getDescription());
        }
    }

    /** Null when every prompt got n complete samples with one finite log-prob per token; else what is wrong. */
    static String checkCompletions(GenerateBatchRequest request, List<Completion> completions) {
        int n = Math.max(1, request.getSampling().getN());
        if (completions.size() != request.getPromptsCount() * n) {
            return completions.size() + " completions for " + request.getPromptsCount() + " prompts x n=" + n;
        }
        for (Completion c : completions) {
            if (c.getLogprobsCount() != c.getTokenIdsCount() || c.getTokenIdsCount() > request.getSampling().getMaxTokens()) {
                return "completion " + c.getPromptIndex() + "/" + c.getSampleIndex() + " has " + c.getTokenIdsCount() + " tokens and "
                        + c.getLogprobsCount() + " log-probs (max_tokens " + request.getSampling().getMaxTokens() + ")";
            }
            for (float lp : c.getLogprobsList()) {
                if (!Float.isFinite(lp) || lp > 0) {
                    return "completion " + c.getPromptIndex() + "/" + c.getSampleIndex() + " has log-prob " + lp;
                }
            }
        }
        return null;
    }

    static GenerateBatchRequest randomRequest(ModelInfo info, SplittableRandom random) {
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder();
        int prompts = 1 + random.nextInt(3);
        for (int p = 0; p < prompts; p++) {
            TokenIds.Builder ids = TokenIds.newBuilder();
            int length = 1 + random.nextInt(24);
            for (int i = 0; i < length; i++) {
                ids.addIds(1 + random.nextInt(info.getVocabSize() - 1));
            }
            b.addPrompts(Prompt.newBuilder().setTokenIds(ids));
        }
        int[] ns = {1, 2, 4, 8};
        SamplingParams.Builder sampling = SamplingParams.newBuilder().setN(ns[random.nextInt(ns.length)])
                .setMaxTokens(1 + random.nextInt(48)).setSeed(random.nextLong());
        if (random.nextInt(4) == 0) {
            sampling.setTemperature(0f);
        } else {
            sampling.setTemperature(0.7f + 0.5f * (float) random.nextDouble());
        }
        return b.setSampling(sampling).build();
    }

    /** A call in flight: its status when it ends, and the completions it delivered. */
    private record Answer(ClientCall<?, ?> call, CompletableFuture<Status> status, List<Completion> completions) {}

    private static <T> Answer call(ChaosTarget target, MethodDescriptor<GenerateBatchRequest, T> method, CallOptions options,
                                   GenerateBatchRequest request, Function<T, List<Completion>> completionsOf) {
        ClientCall<GenerateBatchRequest, T> call = target.channel.newCall(method, options);
        CompletableFuture<Status> status = new CompletableFuture<>();
        List<Completion> completions = Collections.synchronizedList(new ArrayList<>());
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(T message) {
                completions.addAll(completionsOf.apply(message));
                call.request(1);
            }

            @Override
            public void onClose(Status s, Metadata trailers) {
                status.complete(s);
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(request);
        call.halfClose();
        return new Answer(call, status, completions);
    }

    private static void latencyFacts(CheckResult result, List<Long> latencies) {
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        if (!sorted.isEmpty()) {
            result.fact("answered_latency_p50_ms", sorted.get(sorted.size() / 2));
            result.fact("answered_latency_p99_ms", sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))));
        }
    }

    /**
     * RSS at the start, its peak and at the end. For runs of {@link #RSS_JUDGED_FROM_SECONDS} and more, memory that
     * keeps growing under a steady load fails: the last quarter's mean more than 25% and 128 MiB above the second
     * quarter's (after warm-up). For a server in this process the judged series leaves out the committed Java heap,
     * which the JVM grows on its own schedule up to -Xmx; what remains (libtorch tensors, direct buffers, malloc
     * arenas) is where a leak shows.
     */
    private static void rssFacts(CheckResult result, List<Long> rss, List<Long> heap, double seconds) {
        List<Long> judged = new ArrayList<>();
        List<Long> total = new ArrayList<>();
        boolean withoutHeap = false;
        for (int i = 0; i < rss.size(); i++) {
            if (rss.get(i) > 0) {
                total.add(rss.get(i));
                judged.add(rss.get(i) - heap.get(i));
                withoutHeap |= heap.get(i) > 0;
            }
        }
        if (total.size() < 2) {
            result.fact("rss", "not measured");
            return;
        }
        long mib = 1 << 20;
        result.fact("rss_start_mib", total.get(0) / mib);
        result.fact("rss_peak_mib", total.stream().mapToLong(Long::longValue).max().orElse(0) / mib);
        result.fact("rss_end_mib", total.get(total.size() - 1) / mib);
        String name = withoutHeap ? "RSS outside the Java heap" : "RSS";
        if (withoutHeap) {
            result.fact("rss_outside_java_heap_start_mib", judged.get(0) / mib);
            result.fact("rss_outside_java_heap_end_mib", judged.get(judged.size() - 1) / mib);
        }
        int q = judged.size() / 4;
        if (seconds >= RSS_JUDGED_FROM_SECONDS && q >= 2) {
            double second = judged.subList(q, 2 * q).stream().mapToLong(Long::longValue).average().orElse(0);
            double last = judged.subList(judged.size() - q, judged.size()).stream().mapToLong(Long::longValue).average().orElse(0);
            result.fact(withoutHeap ? "rss_outside_java_heap_growth_last_vs_second_quarter" : "rss_growth_last_vs_second_quarter",
                    String.format("%.2f", last / second));
            if (last > second * 1.25 && last - second > 128 * mib) {
                result.fail(String.format("%s kept growing under a steady load: %.0f MiB in the second quarter, %.0f MiB in the last",
                        name, second / mib, last / mib));
            }
        }
    }
}
