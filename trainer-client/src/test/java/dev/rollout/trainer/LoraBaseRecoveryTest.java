package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.client.ClientConfig;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.WeightPushException;
import dev.rollout.client.WeightPusher;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.trainer.rollout.RolloutSource;
import dev.rollout.trainer.rollout.Rollouts;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server whose base changed under a LoRA run refuses the next adapter; the publication after it resends the base. */
class LoraBaseRecoveryTest {
    @TempDir
    Path tmp;

    @Test
    void anAdapterRefusedForAChangedBaseIsFollowedByAPublicationThatCarriesTheBase() throws Exception {
        Path model = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        try (LoopbackServer server = new LoopbackServer(model)) {
            TrainerConfig config = TestRuns.config(model, tmp.resolve("run"), 1, "rollout.mode=server",
                    "rollout.servers=" + server.address(), "use_peft=true", "lora_r=2");
            try (TrainingRun run = TestRuns.open(config, null)) {
                run.publishInitialWeights(Rollouts.currentVersion(run.rollouts()));
                long baseBytes = run.policy().model().weights().toHost().stream().mapToLong(HostTensor::byteSize).sum();
                try (RolloutClient other = new RolloutClient(ClientConfig.of(List.of(ServerAddress.parse(server.address()))))) {
                    new WeightPusher(other).push(server.weightVersion() + 1,
                            RandomWeights.generate(run.policy().model().config(), 5), false);
                }
                long v = server.weightVersion();
                WeightPushException refused = assertThrows(WeightPushException.class, () -> run.rollouts().publish(v + 1));
                Throwable cause = refused.failures().values().iterator().next();
                assertEquals(Status.Code.FAILED_PRECONDITION, Status.fromThrowable(cause).getCode(), cause.toString());

                RolloutSource.Publication again = run.rollouts().publish(v + 2);
                assertTrue(again.bytes() > baseBytes, "the publication after the refusal sent " + again.bytes() + " bytes");
                ModelInfo info = server.modelInfo();
                assertEquals(v + 2, info.getWeightVersion());
                assertEquals(v + 2, info.getAdapterVersion());
            }
        }
    }
}
