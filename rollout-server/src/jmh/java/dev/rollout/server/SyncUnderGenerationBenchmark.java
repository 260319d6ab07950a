package dev.rollout.server;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.weights.HostTensor;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One full SyncWeights, start to response, over loopback gRPC, while a 64-sequence generation (8 prompts × 8 samples,
 * 256 tokens each) runs on the server, per --inflight-weight-update; {@code idle} is the same sync with nothing
 * running. {@code wait} holds the sync until the generation ends or --max-sync-wait-seconds (10) aborts it;
 * {@code keep} and {@code recompute} apply it between two engine steps.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(1)
public class SyncUnderGenerationBenchmark {
    @Param({"keep", "recompute", "wait"})
    public String mode;

    @Param({"busy", "idle"})
    public String load;

    @Param({"30m"})
    public String model;

    private ModelLoader.Loaded loaded;
    private Engine engine;
    private RolloutServer server;
    private ManagedChannel channel;
    private Collection<HostTensor> weights;
    private long version;
    private Context.CancellableContext generation;

    @Setup(Level.Trial)
    public void start() throws Exception {
        loaded = ModelLoader.load(model, 1, Device.cpu());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        engine = new Engine(loaded.served().model(), EngineConfig.defaults().withNumBlocks(1280)
                .withDevice(Device.cpu()), registry);
        server = RolloutServer.start(new InetSocketAddress("127.0.0.1", 0), loaded.served(), engine, loaded.manager(),
                registry, ServerOptions.defaults(0).withInflightWeightUpdate(InflightWeightUpdate.parse(mode)));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .maxInboundMessageSize(ServerOptions.DEFAULT_MAX_INBOUND_MESSAGE_BYTES).build();
        weights = TestServer.randomWeights(loaded.served().model().config(), 2).values();
    }

    @Setup(Level.Invocation)
    public void startGeneration() throws InterruptedException {
        if (!load.equals("busy")) {
            return;
        }
        GenerateBatchRequest.Builder request = GenerateBatchRequest.newBuilder().setSampling(SamplingParams.newBuilder()
                .setN(8).setMaxTokens(256).setIgnoreEos(true));
        for (int i = 0; i < 8; i++) {
            request.addPrompts(TestServer.tokens(3 + i, 4, 5, 6, 7, 8, 9, 10));
        }
        generation = Context.current().withCancellation();
        CompletableFuture<GenerateBatchResponse> done = new CompletableFuture<>();
        generation.run(() -> RolloutServiceGrpc.newStub(channel).generateBatch(request.build(), WeightSyncTest.observerOf(done)));
        long tokensBefore = engine.stats().generatedTokens();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        // Steady decoding: all 64 running, a few tokens each.
        while ((engine.runningSequences() < 64 || engine.stats().generatedTokens() - tokensBefore < 64 * 4)
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
    }

    @Benchmark
    public Object sync() throws Exception {
        return WeightStream.of(++version, false, weights, 1 << 20)
                .send(RolloutServiceGrpc.newStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS));
    }

    @TearDown(Level.Invocation)
    public void stopGeneration() throws InterruptedException {
        if (generation != null) {
            generation.cancel(null);
            generation = null;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((engine.runningSequences() + engine.waitingSequences() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
        loaded.close();
    }
}
