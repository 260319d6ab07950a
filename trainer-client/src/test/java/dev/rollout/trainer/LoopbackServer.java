package dev.rollout.trainer;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.server.ModelLoader;
import dev.rollout.server.RolloutServer;
import dev.rollout.server.ServerOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A rollout server on a loopback port the OS picks, loading a model directory as {@code rollout-server serve --model DIR}
 * does, with a channel of its own for the test's questions.
 */
final class LoopbackServer implements AutoCloseable {
    private final ModelLoader.Loaded loaded;
    private final RolloutServer server;
    private final ManagedChannel channel;

    LoopbackServer(Path modelDir) throws IOException {
        this(modelDir, 0);
    }

    /** On {@code port} (0: one the OS picks), e.g. the port of a server just closed, as a restarted server would. */
    LoopbackServer(Path modelDir, int port) throws IOException {
        loaded = ModelLoader.load(modelDir.toString(), 0, Device.cpu());
        Engine engine = new Engine(loaded.served().model(),
                EngineConfig.defaults().withNumBlocks(64).withDevice(Device.cpu()), new SimpleMeterRegistry());
        server = RolloutServer.start(loaded.served(), engine, loaded.manager(), new SimpleMeterRegistry(), ServerOptions.defaults(port));
        channel = NettyChannelBuilder.forAddress("localhost", server.port()).usePlaintext()
                .maxInboundMessageSize(ServerOptions.DEFAULT_MAX_INBOUND_MESSAGE_BYTES).build();
    }

    /** Serves a PEFT adapter on the loaded model, as {@code serve --adapter DIR} does. */
    LoopbackServer withAdapter(Path adapterDir) throws IOException {
        server.loadAdapter(adapterDir);
        return this;
    }

    dev.rollout.proto.v1.ModelInfo modelInfo() {
        return stub().getModelInfo(GetModelInfoRequest.getDefaultInstance());
    }

    String address() {
        return "localhost:" + server.port();
    }

    int port() {
        return server.port();
    }

    /** The server's weight version as GetModelInfo reports it. */
    long weightVersion() {
        return stub().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getWeightVersion();
    }

    GenerateBatchResponse generate(GenerateBatchRequest request) {
        return stub().generateBatch(request);
    }

    private RolloutServiceGrpc.RolloutServiceBlockingStub stub() {
        return RolloutServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
        loaded.close();
    }
}
