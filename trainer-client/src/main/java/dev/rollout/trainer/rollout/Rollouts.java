package dev.rollout.trainer.rollout;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.client.RolloutClient;
import dev.rollout.trainer.Policy;
import dev.rollout.trainer.TrainingRun;
import dev.rollout.trainer.config.RolloutMode;
import dev.rollout.trainer.config.TrainerConfig;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Makes the rollout source the config's {@code rollout.mode} names. */
public final class Rollouts {
    private static final Logger LOG = LoggerFactory.getLogger(Rollouts.class);

    private Rollouts() {}

    public static RolloutSource create(TrainerConfig config, Policy policy, Checkpoint model) throws IOException {
        if (config.rolloutMode() == RolloutMode.COLOCATE) {
            return new ColocatedRollouts(config, policy, model, null);
        }
        RolloutClient client = RemoteRollouts.connect(config);
        try {
            LOG.info("waiting for rollout servers {}", client.servers());
            client.awaitReady(Duration.ofSeconds((long) Math.max(10, config.rolloutRetryMaxBackoffSeconds() * 6)));
            return new RemoteRollouts(client, policy, config.rolloutSyncChunkBytes());
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** The weight version the source serves now: the highest of its servers', 0 when colocated and fresh. */
    public static long currentVersion(RolloutSource source) {
        if (source instanceof RemoteRollouts remote) {
            return TrainingRun.highestVersion(remote.client().modelInfos());
        }
        return 0;
    }
}
