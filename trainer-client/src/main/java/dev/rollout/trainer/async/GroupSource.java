package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import java.util.List;

/** Where the producer's groups are generated: the servers in use, one streamed call per group. */
public interface GroupSource {

    /** Servers that hold the published weights and may take work now; may wait (logged) while none does. */
    List<ServerAddress> available();

    /**
     * Starts generating {@code sampling.n} completions of {@code prompt} on {@code server}; returns at once.
     *
     * @return cancels the call
     */
    Runnable start(ServerAddress server, Prompt prompt, SamplingParams sampling, long minWeightVersion, Listener listener);

    /** True when {@code server} answers a short probe: a server with work outstanding that is silent may be hung. */
    boolean answers(ServerAddress server);

    /** Marks {@code server} as down: no work until it is back with the trainer's current weights. */
    void lost(ServerAddress server, String why);

    /** What one call reports, from any thread. */
    interface Listener {
        /** One completion finished. */
        void completion(Completion c);

        /** Every completion arrived. */
        void done();

        /**
         * The call failed.
         *
         * @param serverLost the server went away, hung or came back as a new process: the group can go elsewhere
         */
        void failed(Throwable error, boolean serverLost);
    }
}
