package dev.rollout.trainer.rollout;

import dev.rollout.client.PushOptions;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.ServerSyncResult;
import dev.rollout.client.WeightPushException;
import dev.rollout.client.WeightPusher;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.trainer.Policy;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy's weights as pushed to rollout servers. Without LoRA, every weight. With LoRA, only the adapter's
 * tensors, as a partial sync the servers merge into the base they keep, once every server in use holds the frozen
 * base; until then, and to a server coming back, the frozen base too (a full sync), so that a server starts from
 * exactly the base the adapter trains on. A server that lost or replaced its base refuses an adapter with
 * FAILED_PRECONDITION, and the next push to the servers in use sends the base again. Not thread-safe: the caller
 * holds {@link RemoteRollouts}' lock.
 */
final class ModelPush {
    private final WeightPusher pusher;
    private final Policy policy;
    /** With LoRA: whether the servers up to date hold the frozen base, so that a push sends only the adapter. */
    private boolean serversHaveBase;
    private String baseFingerprint; // of the frozen base, computed once

    ModelPush(RolloutClient client, Policy policy, int chunkBytes) {
        this.policy = policy;
        this.pusher = new WeightPusher(client, new PushOptions(chunkBytes, DType.F32, PushOptions.DEFAULT.deadline()));
    }

    /** Version {@code version} to every server in use ({@code upToDate}): the adapter alone once they hold the base. */
    List<ServerSyncResult> toServersInUse(long version, List<ServerAddress> upToDate) {
        return push(version, upToDate, !serversHaveBase, true);
    }

    /** Version {@code version} to a server coming back, base included. */
    List<ServerSyncResult> toReturning(long version, ServerAddress server) {
        return push(version, List.of(server), true, false);
    }

    private List<ServerSyncResult> push(long version, List<ServerAddress> targets, boolean withBase, boolean allInUse) {
        LoraAdapter adapter = policy.model().adapter();
        if (adapter == null) {
            return pusher.push(version, policy.model().weights().toHost(), false, targets);
        }
        List<HostTensor> tensors = new ArrayList<>();
        if (withBase || baseFingerprint == null) {
            List<HostTensor> base = policy.model().weights().toHost();
            baseFingerprint = BaseFingerprint.of(base);
            if (withBase) {
                tensors.addAll(base);
            }
        }
        tensors.addAll(adapter.toHost());
        SyncWeightsHeader header = SyncWeightsHeader.newBuilder()
                .setPartial(!withBase)
                .setLora(spec(adapter.config()))
                .setBaseFingerprint(baseFingerprint)
                .build();
        try {
            List<ServerSyncResult> results = pusher.push(version, header, tensors, targets);
            serversHaveBase = serversHaveBase || (withBase && allInUse);
            return results;
        } catch (WeightPushException e) {
            boolean baseMissing = e.failures().values().stream()
                    .anyMatch(t -> Status.fromThrowable(t).getCode() == Status.Code.FAILED_PRECONDITION);
            if (baseMissing) {
                serversHaveBase = false;
            }
            throw e;
        }
    }

    private static LoraAdapterSpec spec(LoraConfig c) {
        return LoraAdapterSpec.newBuilder().setR(c.r()).setLoraAlpha((float) c.alpha()).setUseRslora(c.useRslora())
                .addAllTargetModules(c.targetModuleNames()).build();
    }
}
