package dev.rollout.deploy;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;

import java.util.concurrent.TimeUnit;

/**
 * A container health check: asks a gRPC server's {@code grpc.health.v1.Health/Check} and exits 0 when it answers
 * SERVING, 1 otherwise. It is the image's HEALTHCHECK command, so the image needs no separate probe binary.
 *
 * <pre>java -cp 'lib/*' dev.rollout.deploy.HealthProbe [--host localhost] [--port 50051] [--service ""] [--timeout-seconds 5]</pre>
 */
public final class HealthProbe {

    record Options(String host, int port, String service, long timeoutSeconds) {
        static Options parse(String... args) {
            String host = "localhost";
            int port = 50051;
            String service = "";
            long timeoutSeconds = 5;
            for (int i = 0; i < args.length; i++) {
                String name = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + name + " needs a value");
                }
                String value = args[++i];
                switch (name) {
                    case "--host" -> host = value;
                    case "--port" -> port = Integer.parseInt(value);
                    case "--service" -> service = value;
                    case "--timeout-seconds" -> timeoutSeconds = Long.parseLong(value);
                    default -> throw new IllegalArgumentException(
                            "unknown option " + name + "; use --host, --port, --service or --timeout-seconds");
                }
            }
            return new Options(host, port, service, timeoutSeconds);
        }
    }

    private HealthProbe() {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("health probe: " + e.getMessage());
            System.exit(2);
            return;
        }
        HealthCheckResponse.ServingStatus status = check(options);
        System.out.println("health of " + options.host() + ":" + options.port() + ": " + status);
        System.exit(status == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1);
    }

    /** The server's answer, or UNKNOWN when it could not be asked (not listening, timed out, error status). */
    static HealthCheckResponse.ServingStatus check(Options options) {
        ManagedChannel channel = NettyChannelBuilder.forAddress(options.host(), options.port()).usePlaintext().build();
        try {
            return HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(options.timeoutSeconds(), TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(options.service()).build())
                    .getStatus();
        } catch (StatusRuntimeException e) {
            System.err.println("health probe: " + e.getStatus());
            return HealthCheckResponse.ServingStatus.UNKNOWN;
        } finally {
            channel.shutdownNow();
        }
    }
}
