package dev.rollout.server;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.TestModels;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.tokenizer.Tokenizer;
import dev.rollout.weights.HostTensor;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real Netty server on a loopback port chosen by the OS, serving the tiny preset on the CPU, with a client channel. */
final class TestServer implements AutoCloseable {
    static final int NUM_BLOCKS = 64;
    /** The seed of the served tiny model's weights: {@code randomWeights(config, SEED)} are the weights it starts with. */
    static final long SEED = 1;

    final ModelLoader.Loaded loaded;
    final ModelConfig config;
    final Tokenizer tokenizer;
    final Engine engine;
    final RolloutServer server;
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final MetricsServer metrics;
    final ManagedChannel channel;

    private TestServer(ServerOptions options, AttentionBackend backend) throws IOException {
        loaded = ModelLoader.load("tiny", SEED, Device.cpu());
        config = loaded.served().model().config();
        tokenizer = loaded.served().tokenizer();
        engine = new Engine(loaded.served().model(), EngineConfig.defaults().withNumBlocks(NUM_BLOCKS).withDevice(Device.cpu())
                .withAttentionBackend(backend), registry);
        server = RolloutServer.start(loaded.served(), engine, loaded.manager(), registry, options);
        metrics = new MetricsServer(registry, 0);
        channel = NettyChannelBuilder.forAddress("localhost", server.port()).usePlaintext()
                .maxInboundMessageSize(ServerOptions.DEFAULT_MAX_INBOUND_MESSAGE_BYTES).build();
    }

    static TestServer start() throws IOException {
        return start(ServerOptions.defaults(0));
    }

    static TestServer start(ServerOptions options) throws IOException {
        return new TestServer(options, TestModels.attentionBackend());
    }

    /** A server whose engine runs paged attention on {@code backend}. */
    static TestServer start(AttentionBackend backend) throws IOException {
        return new TestServer(ServerOptions.defaults(0), backend);
    }

    /** Every tensor of the model, as the tiny preset draws them from a seed: different seeds give different weights. */
    static Map<String, HostTensor> randomWeights(ModelConfig config, long seed) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (HostTensor t : RandomWeights.generate(config, seed)) {
            out.put(t.name(), t);
        }
        return out;
    }

    RolloutServiceGrpc.RolloutServiceBlockingStub blocking() {
        return RolloutServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    RolloutServiceGrpc.RolloutServiceStub async() {
        return RolloutServiceGrpc.newStub(channel);
    }

    static Prompt tokens(int... ids) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int id : ids) {
            b.addIds(id);
        }
        return Prompt.newBuilder().setTokenIds(b).build();
    }

    /** Greedy, EOS ignored: a deterministic function of the prompt and the weights. */
    static GenerateBatchRequest greedy(int maxTokens, Prompt... prompts) {
        return GenerateBatchRequest.newBuilder().addAllPrompts(List.of(prompts))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0f).setIgnoreEos(true)).build();
    }

    String scrape() throws IOException, InterruptedException {
        var client = java.net.http.HttpClient.newHttpClient();
        var response = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://localhost:" + metrics.port() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        return response.body();
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        metrics.close();
        server.close();
        loaded.close();
    }
}
