package dev.rollout.deploy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.ToStringConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.time.Duration;

/**
 * The server image running as deployed, beside a Prometheus that scrapes it: a Docker network, the server container
 * (alias rollout-server, as prometheus.yml names it; an auth token file as the Kubernetes Secret provides one) and a
 * Prometheus container configured from deploy/prometheus/prometheus.yml.
 */
final class ServerDeployment implements AutoCloseable {
    static final int GRPC_PORT = 50051;
    static final int METRICS_PORT = 9400;
    static final int PROMETHEUS_PORT = 9090;
    static final String AUTH_TOKEN = "deploy-test-token";
    private static final String TOKEN_FILE = "/run/rollout/token";
    /** Short, so the test need not wait out the 15 s of the shipped configuration. */
    private static final String SCRAPE_INTERVAL = "1s";

    final Network network = Network.newNetwork();
    final GenericContainer<?> server;
    final GenericContainer<?> prometheus;
    final ManagedChannel channel;
    private final ToStringConsumer serverLog = new ToStringConsumer();

    ServerDeployment(String serverImage, String prometheusImage) throws IOException {
        server = new GenericContainer<>(DockerImageName.parse(serverImage))
                .withNetwork(network)
                .withNetworkAliases("rollout-server")
                .withExposedPorts(GRPC_PORT, METRICS_PORT)
                .withCopyToContainer(Transferable.of(AUTH_TOKEN + "\n", 0444), TOKEN_FILE)
                // a fixed, small KV cache: sized from free memory it would take most of the machine
                .withCommand("serve", "--model", "tiny", "--port", String.valueOf(GRPC_PORT),
                        "--metrics-port", String.valueOf(METRICS_PORT), "--auth-token-file", TOKEN_FILE,
                        "--num-blocks", "512")
                .withLogConsumer(serverLog)
                // the image's own HEALTHCHECK (grpc.health.v1) decides when it is up
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
        prometheus = new GenericContainer<>(DockerImageName.parse(prometheusImage))
                .withNetwork(network)
                .withExposedPorts(PROMETHEUS_PORT)
                .withCopyToContainer(Transferable.of(prometheusConfig()), "/etc/rollout/prometheus.yml")
                .withCommand("prometheus", "--config.file=/etc/rollout/prometheus.yml",
                        "--storage.tsdb.path=/tmp/prometheus", "--web.listen-address=:" + PROMETHEUS_PORT)
                .waitingFor(Wait.forHttp("/-/ready").forPort(PROMETHEUS_PORT).withStartupTimeout(Duration.ofMinutes(1)));
        try {
            server.start();
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("the server container did not become healthy; its log:\n" + serverLog.toUtf8String(), e);
        }
        prometheus.start();
        channel = NettyChannelBuilder.forAddress(server.getHost(), server.getMappedPort(GRPC_PORT))
                .usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    /** The repository's prometheus.yml with a short scrape interval. */
    private static String prometheusConfig() throws IOException {
        ObjectNode config = (ObjectNode) Yaml.document(DeployPaths.prometheusConfig());
        ((ObjectNode) config.path("global")).put("scrape_interval", SCRAPE_INTERVAL);
        return Yaml.MAPPER.writeValueAsString(config);
    }

    /** host:port of the server's gRPC port as mapped on this host. */
    String grpcAddress() {
        return server.getHost() + ":" + server.getMappedPort(GRPC_PORT);
    }

    String metricsUrl() {
        return "http://" + server.getHost() + ":" + server.getMappedPort(METRICS_PORT) + "/metrics";
    }

    String prometheusUrl() {
        return "http://" + prometheus.getHost() + ":" + prometheus.getMappedPort(PROMETHEUS_PORT);
    }

    String serverLog() {
        return serverLog.toUtf8String();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (prometheus != null) {
            prometheus.stop();
        }
        if (server != null) {
            server.stop();
        }
        network.close();
    }
}
