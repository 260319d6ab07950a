package dev.rollout.trainer;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** A server that accepts every call and never answers one (a wedged process); its health service says SERVING. */
final class HungRolloutServer implements AutoCloseable {
    private final Server server;

    HungRolloutServer() throws IOException {
        HealthStatusManager health = new HealthStatusManager();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new RolloutServiceGrpc.RolloutServiceImplBase() {
                    @Override
                    public void generateBatch(GenerateBatchRequest request, StreamObserver<GenerateBatchResponse> response) {
                    }

                    @Override
                    public void generateStream(GenerateBatchRequest request, StreamObserver<Completion> response) {
                    }

                    @Override
                    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> response) {
                    }
                })
                .addService(health.getHealthService())
                .build().start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
