package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Servers the producer has lost: those whose calls failed as gone or restarted, and those found hung (work
 * outstanding, silent for the liveness timeout, and no answer to a probe). The source is told of each, and sets it
 * aside until it is back with the trainer's weights.
 */
final class LostServers {
    private static final Logger LOG = LoggerFactory.getLogger(LostServers.class);

    private final GroupSource source;
    private final Outstanding outstanding;
    private final Duration liveness;

    LostServers(GroupSource source, Outstanding outstanding, Duration liveness) {
        this.source = source;
        this.outstanding = outstanding;
        this.liveness = liveness;
    }

    /** {@code server} failed a call as gone or restarted; called without the lock (the source may block). */
    void lost(ServerAddress server, String why) {
        source.lost(server, why);
    }

    /** A server with work outstanding that has been silent for the liveness timeout is probed; if it does not answer, its groups go elsewhere. */
    void failHungServers() {
        List<ServerAddress> silent = outstanding.locked(() -> {
            long now = System.nanoTime();
            return outstanding.busyServers().stream()
                    .filter(s -> outstanding.load.silentNanos(s, now) > liveness.toNanos()).toList();
        });
        for (ServerAddress s : silent) {
            if (source.answers(s)) {
                outstanding.locked(() -> outstanding.load.heard(s));
                continue;
            }
            List<InFlightGroup> lost = new ArrayList<>();
            outstanding.locked(() -> {
                for (InFlightGroup f : outstanding.onServer(s)) {
                    outstanding.restart(f);
                    lost.add(f);
                }
            });
            String why = "silent for " + liveness.toMillis() + " ms with work outstanding and no answer to a probe";
            LOG.warn("rollout server {} looks hung ({}); its {} group(s) in flight are generated again elsewhere", s, why, lost.size());
            lost.forEach(f -> f.cancel.run());
            lost(s, why);
        }
    }
}
