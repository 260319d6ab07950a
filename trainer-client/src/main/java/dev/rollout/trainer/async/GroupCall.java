package dev.rollout.trainer.async;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one attempt at a group hears from its server: completions, the end of the call, or a failure. A group whose
 * completions all arrived becomes ready; one whose server was lost is started again elsewhere; any other failure stops
 * the producer. Callbacks of an attempt given up on are ignored.
 */
final class GroupCall implements GroupSource.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCall.class);

    private final InFlightGroup group;
    private final Outstanding outstanding;
    private final LostServers lostServers;
    private final int numGenerations;

    GroupCall(InFlightGroup group, Outstanding outstanding, LostServers lostServers, int numGenerations) {
        this.group = group;
        this.outstanding = outstanding;
        this.lostServers = lostServers;
        this.numGenerations = numGenerations;
    }

    @Override
    public void completion(Completion c) {
        outstanding.locked(() -> {
            if (outstanding.current(group)) {
                outstanding.received(group, c);
            }
        });
    }

    @Override
    public void done() {
        String early = outstanding.locked(() -> {
            if (!outstanding.current(group)) {
                return null;
            }
            boolean cut = group.received.stream().anyMatch(c -> c.getFinishReason() == FinishReason.FINISH_REASON_ABORTED);
            if (cut) {
                return "it aborted a completion (shutting down)";
            }
            if (group.received.size() != numGenerations) {
                return "it sent " + group.received.size() + " of " + numGenerations + " completions";
            }
            outstanding.arrived(group);
            return null;
        });
        if (early != null) {
            failed(new IllegalStateException("server " + group.server + " ended group " + group.index + " early: " + early), true);
        }
    }

    @Override
    public void failed(Throwable error, boolean serverLost) {
        boolean restarted = outstanding.locked(() -> {
            if (!outstanding.current(group)) {
                return false;
            }
            if (!serverLost) {
                outstanding.release(group);
                outstanding.failure = new IllegalStateException("generation of group " + group.index + " on "
                        + group.server + " failed: " + error.getMessage(), error);
                outstanding.signal();
                return false;
            }
            lostServers.exclude(group.server); // before the restart: it must not go back there
            outstanding.restart(group);
            return true;
        });
        if (restarted) {
            LOG.warn("rollout server {} lost group {} ({}); it is generated again on another server", group.server,
                    group.index, error.getMessage());
            lostServers.tell(group.server, error.getMessage());
        }
    }
}
