package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Server reflection still lists the services once they parse their requests behind FailedCallInterceptor. */
class ReflectionTest {
    @Test
    void reflectionListsTheRolloutAndHealthServices() throws Exception {
        try (TestServer server = TestServer.start()) {
            CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
            StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(server.channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS).serverReflectionInfo(WeightSyncTest.observerOf(answer));
            requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
            requests.onCompleted();
            List<String> names = answer.get(30, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                    .map(ServiceResponse::getName).toList();
            assertTrue(names.containsAll(List.of("rollout.v1.RolloutService", "grpc.health.v1.Health")), names.toString());
        }
    }
}
