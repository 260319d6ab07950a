package dev.rollout.trainer.rollout;

import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.client.ClientConfig;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerAddress;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.server.RolloutServer;
import dev.rollout.server.ServedModel;
import dev.rollout.server.ServerOptions;
import dev.rollout.trainer.Policy;
import dev.rollout.trainer.config.TrainerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.UUID;

/**
 * Colocate mode: the rollout engine runs in the trainer's JVM on the policy's own tensors, served through gRPC's
 * in-process transport so requests take exactly the path they take on a remote server (validation, tokenization,
 * chat templates). Publishing weights copies nothing: the optimizer updated the tensors the engine reads, so it only
 * bumps the version and drops the prefix cache, between two engine steps.
 */
public final class ColocatedRollouts implements RolloutSource {
    private final Engine engine;
    private final RolloutServer server;
    private final RolloutClient client;
    private final Policy policy;

    public ColocatedRollouts(TrainerConfig config, Policy policy, Checkpoint model, MeterRegistry registry) throws IOException {
        this.policy = policy;
        int blockSize = config.continuousBatchingBlockSize();
        EngineConfig engineConfig = new EngineConfig(blockSize, 0, config.continuousBatchingMaxMemoryPercent(),
                config.continuousBatchingMaxBatchTokens(), EngineConfig.defaults().maxNumSeqs(),
                config.useContinuousBatching() ? EngineConfig.SchedulerKind.CONTINUOUS : EngineConfig.SchedulerKind.STATIC,
                policy.model().weights().embed().getDevice());
        this.engine = new Engine(policy.model(), engineConfig, registry);
        String name = "rollout-colocated-" + UUID.randomUUID();
        ServedModel served = new ServedModel(model.dir().getFileName().toString(), policy.model(), model.tokenizer(),
                model.tokenizer().chatTemplate().orElse(null));
        this.server = RolloutServer.startInProcess(name, served, engine, policy.model().weights().embed().getManager(),
                registry == null ? new io.micrometer.core.instrument.simple.SimpleMeterRegistry() : registry,
                ServerOptions.defaults(0));
        this.client = new RolloutClient(ClientConfig.of(List.of(ServerAddress.inProcess(name))));
    }

    @Override
    public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
        return client.generate(prompts, sampling, minWeightVersion);
    }

    @Override
    public Publication publish(long version) {
        long start = System.nanoTime();
        engine.swapWeights(policy.model().weights(), version, InflightWeightUpdate.KEEP);
        return new Publication(0, (System.nanoTime() - start) / 1e9);
    }

    @Override
    public String describe() {
        return "colocated engine (" + engine.cacheInfo().numBlocks() + " KV blocks)";
    }

    @Override
    public void close() {
        client.close();
        server.close();
    }
}
