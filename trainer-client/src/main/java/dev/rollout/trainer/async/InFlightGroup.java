package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.trainer.data.PromptRow;
import java.util.ArrayList;
import java.util.List;

/**
 * A group being generated on one server. A new object each time a group is started, so that late callbacks of an
 * attempt given up on (its server lost or hung) are recognised and ignored.
 */
final class InFlightGroup {
    final long index;
    /** When this attempt started, among all attempts: groups are trained in this order, as admission assumed. */
    final long ticket;
    final PromptRow row;
    final ServerAddress server;
    /**
     * The oldest weight version its tokens can come from: what every server in use held when it started. A take
     * that would leave it for a later batch than the last one fit for that version waits for it instead.
     */
    final long floor;
    final List<Completion> received = new ArrayList<>();
    Runnable cancel = () -> { };

    InFlightGroup(long index, long ticket, PromptRow row, ServerAddress server, long floor) {
        this.index = index;
        this.ticket = ticket;
        this.row = row;
        this.server = server;
        this.floor = floor;
    }
}
