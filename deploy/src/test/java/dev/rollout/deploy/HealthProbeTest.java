package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

/** The image's health check: its options, and its verdict against a real grpc.health.v1 service on loopback. */
class HealthProbeTest {

    private static Server healthServer(HealthStatusManager health) throws Exception {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(health.getHealthService()).build().start();
    }

    @Test
    void defaultsToTheServersPortOnLocalhost() {
        assertEquals(new HealthProbe.Options("localhost", 50051, "", 5), HealthProbe.Options.parse());
    }

    @Test
    void takesHostPortServiceAndTimeout() {
        assertEquals(new HealthProbe.Options("10.0.0.7", 6000, "rollout.v1.RolloutService", 2),
                HealthProbe.Options.parse("--host", "10.0.0.7", "--port", "6000",
                        "--service", "rollout.v1.RolloutService", "--timeout-seconds", "2"));
    }

    @Test
    void refusesAnUnknownOptionNamingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HealthProbe.Options.parse("--ports", "1"));
        assertTrue(e.getMessage().contains("--port"), e.getMessage());
    }

    @Test
    void refusesAnOptionWithoutItsValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HealthProbe.Options.parse("--port"));
        assertEquals("option --port needs a value", e.getMessage());
    }

    @Test
    void reportsServingWhenTheServerSaysSo() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = healthServer(health);
        try {
            assertEquals(ServingStatus.SERVING,
                    HealthProbe.check(new HealthProbe.Options("127.0.0.1", server.getPort(), "", 5)));
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    void reportsNotServingWhileTheServerDrains() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = healthServer(health);
        try {
            health.enterTerminalState();
            assertEquals(ServingStatus.NOT_SERVING,
                    HealthProbe.check(new HealthProbe.Options("127.0.0.1", server.getPort(), "", 5)));
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    void reportsUnknownWhenNothingListens() throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        Server server = healthServer(health);
        int port = server.getPort();
        server.shutdownNow().awaitTermination();
        assertEquals(ServingStatus.UNKNOWN, HealthProbe.check(new HealthProbe.Options("127.0.0.1", port, "", 2)));
    }
}
