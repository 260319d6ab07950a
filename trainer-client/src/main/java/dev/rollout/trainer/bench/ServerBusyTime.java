package dev.rollout.trainer.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The seconds a rollout server's engine has spent in steps (schedule, forward, sample) since it started, read from its
 * {@code /metrics} ({@code rollout_step_seconds_sum}); the rest of the wall time it had nothing to run (or was swapping
 * weights).
 */
final class ServerBusyTime {
    static final String METRIC = "rollout_step_seconds_sum";
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI uri;

    ServerBusyTime(int metricsPort) {
        this.uri = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
    }

    double seconds() throws IOException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return parse(r.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted reading " + uri, e);
        }
    }

    /** The value of {@link #METRIC} in a Prometheus text exposition; 0 before the engine's first step. */
    static double parse(String exposition) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(METRIC + " ") || line.startsWith(METRIC + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
            }
        }
        return 0;
    }
}
