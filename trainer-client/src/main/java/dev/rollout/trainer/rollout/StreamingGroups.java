package dev.rollout.trainer.rollout;

import dev.rollout.client.RolloutServerException;
import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.trainer.async.GroupSource;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.UUID;

/**
 * The remote servers as the async producer uses them: one GenerateStream call per group, completions handed on as
 * each finishes; availability, weight catch-up and setting aside are {@link RemoteRollouts}'s.
 */
public final class StreamingGroups implements GroupSource {
    private final RemoteRollouts rollouts;
    private final String runId = UUID.randomUUID().toString();

    public StreamingGroups(RemoteRollouts rollouts) {
        this.rollouts = rollouts;
    }

    @Override
    public List<ServerAddress> available() {
        return rollouts.available();
    }

    @Override
    public Runnable start(ServerAddress server, Prompt prompt, SamplingParams sampling, long minWeightVersion,
            Listener listener) {
        GenerateBatchRequest request = GenerateBatchRequest.newBuilder().addPrompts(prompt).setSampling(sampling)
                .setRequestId(runId + "/group-" + sampling.getSeed()).setMinWeightVersion(minWeightVersion).build();
        return rollouts.client().generateStream(server, request, new StreamObserver<>() {
            @Override
            public void onNext(Completion c) {
                listener.completion(c);
            }

            @Override
            public void onError(Throwable t) {
                listener.failed(t, isLost(t));
            }

            @Override
            public void onCompleted() {
                listener.done();
            }
        });
    }

    /**
     * The server went away, was stopped, is behind the published weights (a restart) or our own liveness check
     * cancelled the call: the group can be generated elsewhere. Anything else is about the request itself.
     */
    static boolean isLost(Throwable t) {
        Status.Code code = t instanceof RolloutServerException e ? e.status().getCode() : Status.fromThrowable(t).getCode();
        return code == Status.Code.UNAVAILABLE || code == Status.Code.CANCELLED || code == Status.Code.DEADLINE_EXCEEDED
                || code == Status.Code.FAILED_PRECONDITION || code == Status.Code.ABORTED;
    }

    @Override
    public boolean answers(ServerAddress server) {
        return rollouts.client().answers(server);
    }

    @Override
    public void lost(ServerAddress server, String why) {
        rollouts.lost(server, why);
    }
}
