package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Servers the producer has lost: those whose calls failed as gone or restarted, and those found hung (work
 * outstanding, silent for the liveness timeout, and no answer to a probe). The source is told of each, and sets it
 * aside until it is back with the trainer's weights.
 *
 * <p>Telling the source may wait (the remote source's lock is held through a weight push), and a list of servers
 * the producer got before may still name the lost one. So a lost server is excluded from dispatch here, under the
 * producer's lock, before its groups are put up to start again, and stays excluded until a listing begun after the
 * source was told names it again: a group is never sent back to the server that just failed it.
 */
final class LostServers {
    private static final Logger LOG = LoggerFactory.getLogger(LostServers.class);
    /** Excluded, and the source not told yet. */
    private static final long TELLING = Long.MAX_VALUE;

    private final GroupSource source;
    private final Outstanding outstanding;
    private final Duration liveness;
    /** Excluded servers, each with the listing count when the source was told of it (guarded by the lock). */
    private final Map<ServerAddress, Long> excluded = new HashMap<>();
    private long listings;

    LostServers(GroupSource source, Outstanding outstanding, Duration liveness) {
        this.source = source;
        this.outstanding = outstanding;
        this.liveness = liveness;
    }

    /** Excludes {@code server} from dispatch; the caller holds the lock and restarts its groups after. */
    void exclude(ServerAddress server) {
        excluded.put(server, TELLING);
    }

    /** Tells the source that {@code server}, excluded, is lost; called without the lock (the source may block). */
    void tell(ServerAddress server, String why) {
        source.lost(server, why);
        outstanding.locked(() -> excluded.computeIfPresent(server, (s, v) -> listings));
    }

    /** A listing of the source's available servers is about to start; the caller holds the lock. */
    long listingStarts() {
        return ++listings;
    }

    /**
     * The servers of {@code listed} (from the listing numbered {@code listing}) a group may go to: an excluded server
     * is back once a listing begun after the source was told names it. The caller holds the lock.
     */
    List<ServerAddress> usable(List<ServerAddress> listed, long listing) {
        excluded.entrySet().removeIf(e -> e.getValue() < listing && listed.contains(e.getKey()));
        return listed.stream().filter(s -> !excluded.containsKey(s)).toList();
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
                exclude(s);
                for (InFlightGroup f : outstanding.onServer(s)) {
                    outstanding.restart(f);
                    lost.add(f);
                }
            });
            String why = "silent for " + liveness.toMillis() + " ms with work outstanding and no answer to a probe";
            LOG.warn("rollout server {} looks hung ({}); its {} group(s) in flight are generated again elsewhere", s, why, lost.size());
            lost.forEach(f -> f.cancel.run());
            tell(s, why);
        }
    }
}
