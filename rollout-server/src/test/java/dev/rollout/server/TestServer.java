package dev.rollout.server;

import ai.djl.ndarray.NDManager;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import dev.rollout.tokenizer.ChatTemplate;
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
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** A real Netty server on a loopback port chosen by the OS, serving a small random model, with a client channel. */
final class TestServer implements AutoCloseable {
    static final int NUM_BLOCKS = 64;

    final ModelConfig config;
    final Engine engine;
    final RolloutServer server;
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final MetricsServer metrics;
    final ManagedChannel channel;
    private final NDManager manager = NDManager.newBaseManager();

    private TestServer(ServerOptions options) throws IOException {
        config = ModelConfig.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 96, "hidden_size": 32,
                 "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "max_position_embeddings": 128, "eos_token_id": 1, "bos_token_id": 0, "tie_word_embeddings": false}""");
        CausalLM model = new CausalLM(config, ModelWeights.fromHost(config, randomWeights(config, 1), manager));
        engine = new Engine(model, new EngineConfig(16, NUM_BLOCKS, 0.9, 2048, 256, EngineConfig.Scheduler.CONTINUOUS, "cpu"), registry);
        ServedModel served = new ServedModel("test-tiny", model, new Tokenizer(), new ChatTemplate());
        server = RolloutServer.start(served, engine, manager, registry, options);
        metrics = new MetricsServer(registry, 0);
        channel = NettyChannelBuilder.forAddress("localhost", server.port()).usePlaintext()
                .maxInboundMessageSize(ServerOptions.DEFAULT_MAX_INBOUND_MESSAGE_BYTES).build();
    }

    static TestServer start() throws IOException {
        return new TestServer(ServerOptions.defaults(0));
    }

    static TestServer start(ServerOptions options) throws IOException {
        return new TestServer(options);
    }

    /** Every tensor of the model, fp32, normally distributed with a seed: different seeds give different weights. */
    static Map<String, HostTensor> randomWeights(ModelConfig config, long seed) {
        Random random = new Random(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (ModelWeights.TensorShape t : ModelWeights.expectedTensors(config)) {
            float[] v = new float[(int) HostTensor.numElements(t.shape())];
            boolean norm = t.shape().length == 1;
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? 1f + 0.1f * (float) random.nextGaussian() : 0.5f * (float) random.nextGaussian();
            }
            out.put(t.name(), HostTensor.ofFloats(t.name(), t.shape(), v));
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
        manager.close();
    }
}
