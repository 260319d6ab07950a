package dev.rollout.bench;

import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.WeightsDtype;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import dev.rollout.server.ModelLoader;
import dev.rollout.server.RolloutServer;
import dev.rollout.server.ServerOptions;
import ai.djl.Device;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The workload of llama.cpp's {@code llama-batched-bench} through our gRPC API: for each N, one {@code GenerateBatch}
 * of N distinct prompts of {@code promptTokens} token ids, greedy, {@code ignore_eos}, {@code maxTokens} each; output
 * tokens over the call's wall time, prefill included. The server is a real one (Netty, loopback, a free port) in this
 * process, with serve's engine defaults and a KV cache that holds every sequence at once.
 */
final class BatchedBench {
    /** One N: the wall time of each repetition (seconds), the output tokens of one. */
    record Point(int sequences, List<Double> wallSeconds, long outputTokens) {
        double medianWallSeconds() {
            List<Double> sorted = new ArrayList<>(wallSeconds);
            Collections.sort(sorted);
            return sorted.get(sorted.size() / 2);
        }

        double tokensPerSecond() {
            return outputTokens / medianWallSeconds();
        }
    }

    record Settings(String model, long seed, List<Integer> sequences, int promptTokens, int maxTokens, int reps,
                    boolean warmup, int blockSize, Device device, AttentionBackend attentionBackend,
                    WeightsDtype weightsDtype) {
        Settings {
            sequences = List.copyOf(sequences);
            require(!sequences.isEmpty() && sequences.stream().allMatch(n -> n > 0),
                    "--sequences must list positive counts, got " + sequences);
            require(sequences.stream().allMatch(n -> n <= ServerOptions.DEFAULT_MAX_REQUEST_SEQUENCES),
                    "--sequences above " + ServerOptions.DEFAULT_MAX_REQUEST_SEQUENCES + " (the server's sequences per"
                            + " request): " + sequences);
            require(promptTokens > 0, "--prompt-tokens must be positive, got " + promptTokens);
            require(maxTokens > 0, "--max-tokens must be positive, got " + maxTokens);
            require(reps > 0, "--reps must be positive, got " + reps);
            require(blockSize > 0, "--block-size must be positive, got " + blockSize);
        }
    }

    private BatchedBench() {}

    static List<Point> run(Settings s, Consumer<String> log) throws IOException, InterruptedException {
        int most = Collections.max(s.sequences());
        try (ModelLoader.Loaded loaded = ModelLoader.load(s.model(), s.seed(), s.device())) {
            log.accept(s.weightsDtype().applyTo(loaded.served().model()));
            int vocab = loaded.served().model().config().vocabSize();
            int context = loaded.served().model().config().maxPositionEmbeddings();
            if (s.promptTokens() + s.maxTokens() > context) {
                throw new IllegalArgumentException("--prompt-tokens + --max-tokens = " + (s.promptTokens() + s.maxTokens())
                        + " exceeds the model's context of " + context + " tokens");
            }
            int blocksPerSequence = (s.promptTokens() + s.maxTokens() + s.blockSize() - 1) / s.blockSize();
            EngineConfig config = EngineConfig.defaults().withBlockSize(s.blockSize())
                    .withNumBlocks(most * blocksPerSequence + 1).withMaxNumSeqs(Math.max(most, EngineConfig.defaults().maxNumSeqs()))
                    .withDevice(s.device()).withAttentionBackend(s.attentionBackend());
            Engine engine = new Engine(loaded.served().model(), config, new SimpleMeterRegistry());
            InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
            try (RolloutServer server = RolloutServer.start(loopback, loaded.served(), engine, loaded.manager(),
                    new SimpleMeterRegistry(), ServerOptions.defaults(0))) {
                ManagedChannel channel = NettyChannelBuilder.forAddress(loopback.getAddress().getHostAddress(), server.port())
                        .usePlaintext().maxInboundMessageSize(256 << 20).build();
                try {
                    RolloutServiceGrpc.RolloutServiceBlockingStub stub = RolloutServiceGrpc.newBlockingStub(channel);
                    log.accept(String.format("%s on 127.0.0.1:%d, %d prompt + %d generated tokens per sequence",
                            loaded.served().modelId(), server.port(), s.promptTokens(), s.maxTokens()));
                    if (s.warmup()) {
                        // The first seconds of tensor work in a process run several times slower, and each N takes its
                        // own path (a step of up to 32 rows runs Java and native kernels the JIT must compile first:
                        // one sequence decoded at 71, 96, then 139 tok/s in three calls); llama-batched-bench also
                        // warms up before timing. So every N once, in full, untimed.
                        for (int n : new TreeSet<>(s.sequences())) {
                            call(stub, request(n, s.promptTokens(), s.maxTokens(), vocab, s.seed() - n));
                        }
                    }
                    List<List<Double>> walls = new ArrayList<>();
                    long[] tokens = new long[s.sequences().size()];
                    s.sequences().forEach(n -> walls.add(new ArrayList<>()));
                    for (int rep = 0; rep < s.reps(); rep++) {
                        for (int i = 0; i < s.sequences().size(); i++) {
                            int n = s.sequences().get(i);
                            GenerateBatchRequest request = request(n, s.promptTokens(), s.maxTokens(), vocab, s.seed() + n);
                            long start = System.nanoTime();
                            GenerateBatchResponse response = call(stub, request);
                            double wall = (System.nanoTime() - start) / 1e9;
                            tokens[i] = checkedOutputTokens(response, n, s.maxTokens());
                            walls.get(i).add(wall);
                            log.accept(String.format("  %d sequences: %.2f s, %.1f output tok/s", n, wall, tokens[i] / wall));
                        }
                    }
                    List<Point> points = new ArrayList<>();
                    for (int i = 0; i < s.sequences().size(); i++) {
                        points.add(new Point(s.sequences().get(i), walls.get(i), tokens[i]));
                    }
                    return points;
                } finally {
                    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** N prompts of distinct random ids (no prefix sharing, as llama-batched-bench's default), one completion each. */
    static GenerateBatchRequest request(int n, int promptTokens, int maxTokens, int vocab, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        GenerateBatchRequest.Builder b = GenerateBatchRequest.newBuilder().setRequestId("bench-batched-" + n)
                .setSampling(SamplingParams.newBuilder().setN(1).setMaxTokens(maxTokens).setTemperature(0f)
                        .setIgnoreEos(true));
        for (int i = 0; i < n; i++) {
            TokenIds.Builder ids = TokenIds.newBuilder();
            rng.ints(promptTokens, 1, vocab).forEach(ids::addIds);
            b.addPrompts(Prompt.newBuilder().setTokenIds(ids));
        }
        return b.build();
    }

    private static GenerateBatchResponse call(RolloutServiceGrpc.RolloutServiceBlockingStub stub, GenerateBatchRequest r) {
        return stub.withDeadlineAfter(30, TimeUnit.MINUTES).generateBatch(r);
    }

    static long checkedOutputTokens(GenerateBatchResponse response, int n, int maxTokens) {
        if (response.getCompletionsCount() != n) {
            throw new IllegalStateException("asked for " + n + " completions, got " + response.getCompletionsCount());
        }
        long total = 0;
        for (Completion c : response.getCompletionsList()) {
            if (c.getTokenIdsCount() != maxTokens) {
                throw new IllegalStateException("completion " + c.getPromptIndex() + " has " + c.getTokenIdsCount()
                        + " tokens, not the " + maxTokens + " ignore_eos forces");
            }
            total += c.getTokenIdsCount();
        }
        return total;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
