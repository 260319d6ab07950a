package dev.rollout.trainer.rollout;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.client.ClientConfig;
import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerAddress;
import dev.rollout.trainer.Policy;
import dev.rollout.trainer.config.RolloutMode;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Makes the rollout source the config's {@code rollout.mode} names. */
public final class Rollouts {
    private static final Logger LOG = LoggerFactory.getLogger(Rollouts.class);

    private Rollouts() {}

    /**
     * The config's rollout source. In server mode it waits until at least one server is SERVING; a server that is not
     * yet is set aside and gets work (after the trainer's current weights) once it answers, probed with the retry
     * policy's backoff, so a run can start while one of several servers is down.
     */
    public static RolloutSource create(TrainerConfig config, Policy policy, Checkpoint model) throws IOException {
        if (config.rolloutMode() == RolloutMode.COLOCATE) {
            return new ColocatedRollouts(config, policy, model, null);
        }
        RolloutClient client = connect(config);
        try {
            LOG.info("waiting for rollout servers {}", client.servers());
            List<ServerAddress> down = client.awaitAnyReady(
                    Duration.ofSeconds((long) Math.max(10, config.rolloutRetryMaxBackoffSeconds() * 6)));
            RemoteRollouts remote = new RemoteRollouts(client, policy, config.rolloutSyncChunkBytes());
            for (ServerAddress s : down) {
                remote.lost(s, "not serving when the run started");
            }
            return remote;
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** The client the config describes: servers, token, CA file, retries, deadline and liveness timeout. */
    public static RolloutClient connect(TrainerConfig config) throws IOException {
        List<ServerAddress> servers = config.rolloutServers().stream().map(ServerAddress::parse).toList();
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("rollout.mode is server but rollout.servers is empty: give host:port of each rollout server");
        }
        ClientConfig c = ClientConfig.of(servers)
                .withDeadline(Duration.ofMillis((long) (config.rolloutRequestTimeoutSeconds() * 1000)))
                .withRetry(new RetryPolicy(config.rolloutMaxAttempts(),
                        Duration.ofMillis((long) (config.rolloutRetryBackoffSeconds() * 1000)),
                        Duration.ofMillis((long) (config.rolloutRetryMaxBackoffSeconds() * 1000)), 2.0, 0.2));
        String token = config.rolloutAuthToken();
        if (token == null && config.rolloutAuthTokenFile() != null) {
            token = Files.readString(Path.of(config.rolloutAuthTokenFile())).strip();
        }
        if (token != null) {
            c = c.withBearerToken(token);
        }
        if (config.rolloutCaFile() != null) {
            c = c.withTls(Path.of(config.rolloutCaFile()));
        }
        return new RolloutClient(c, Duration.ofMillis((long) (config.rolloutLivenessTimeoutSeconds() * 1000)));
    }

    /** The weight version the source serves now: the highest of its servers in use, 0 when colocated and fresh. */
    public static long currentVersion(RolloutSource source) {
        if (source instanceof RemoteRollouts remote) {
            return remote.servingVersion();
        }
        return 0;
    }
}
