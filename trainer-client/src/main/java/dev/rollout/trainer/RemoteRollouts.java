package dev.rollout.trainer;

import dev.rollout.client.ClientConfig;
import dev.rollout.client.PushOptions;
import dev.rollout.client.RetryPolicy;
import dev.rollout.client.RolloutClient;
import dev.rollout.client.ServerAddress;
import dev.rollout.client.ServerSyncResult;
import dev.rollout.client.WeightPushException;
import dev.rollout.client.WeightPusher;
import dev.rollout.lora.BaseFingerprint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.trainer.config.TrainerConfig;
import dev.rollout.weights.DType;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Rollouts from one or more rollout servers; weights pushed to all of them in parallel after every step. */
public final class RemoteRollouts implements RolloutSource {
    private final RolloutClient client;
    private final WeightPusher pusher;
    private final Policy policy;
    private String baseFingerprint; // with LoRA: of the base the servers were given; null until then

    public RemoteRollouts(RolloutClient client, Policy policy, int chunkBytes) {
        this.client = client;
        this.policy = policy;
        this.pusher = new WeightPusher(client, new PushOptions(chunkBytes, DType.F32, PushOptions.DEFAULT.deadline()));
    }

    /** The client the config describes: servers, token, CA file, retries and deadline. */
    public static RolloutClient connect(TrainerConfig config) throws IOException {
        List<ServerAddress> servers = config.rolloutServers().stream().map(ServerAddress::parse).toList();
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("rollout.mode is server but rollout.servers is empty: give host:port of each rollout server");
        }
        ClientConfig c = ClientConfig.of(servers)
                .withDeadline(Duration.ofMillis((long) (config.rolloutRequestTimeoutSeconds() * 1000)))
                .withRetry(new RetryPolicy(config.rolloutMaxAttempts(),
                        Duration.ofMillis((long) (config.rolloutRetryBackoffSeconds() * 1000)),
                        Duration.ofMillis((long) (config.rolloutRetryMaxBackoffSeconds() * 1000)), 2.0, 0.2));
        String token = config.rolloutAuthToken();
        if (token == null && config.rolloutAuthTokenFile() != null) {
            token = Files.readString(Path.of(config.rolloutAuthTokenFile())).strip();
        }
        if (token != null) {
            c = c.withBearerToken(token);
        }
        if (config.rolloutCaFile() != null) {
            c = c.withTls(Path.of(config.rolloutCaFile()));
        }
        return new RolloutClient(c);
    }

    public RolloutClient client() {
        return client;
    }

    @Override
    public GenerateBatchResponse generate(List<Prompt> prompts, SamplingParams sampling, long minWeightVersion) {
        return client.generate(prompts, sampling, minWeightVersion);
    }

    @Override
    public Publication publish(long version) {
        long start = System.nanoTime();
        LoraAdapter adapter = policy.model().adapter();
        List<ServerSyncResult> results = adapter == null
                ? pusher.push(version, policy.model().weights().toHost(), false)
                : pushAdapter(version, adapter);
        long bytes = results.stream().mapToLong(ServerSyncResult::bytesSent).max().orElse(0);
        return new Publication(bytes, (System.nanoTime() - start) / 1e9);
    }

    /**
     * Only the adapter's tensors, as a partial sync the servers merge into the base they keep. The first push also
     * carries the frozen base (a full sync), so every server starts from exactly the base the adapter trains on.
     */
    private List<ServerSyncResult> pushAdapter(long version, LoraAdapter adapter) {
        List<HostTensor> tensors = new ArrayList<>();
        boolean withBase = baseFingerprint == null;
        if (withBase) {
            List<HostTensor> base = policy.model().weights().toHost();
            tensors.addAll(base);
            baseFingerprint = BaseFingerprint.of(base);
        }
        tensors.addAll(adapter.toHost());
        SyncWeightsHeader header = SyncWeightsHeader.newBuilder()
                .setPartial(!withBase)
                .setLora(spec(adapter.config()))
                .setBaseFingerprint(baseFingerprint)
                .build();
        try {
            return pusher.push(version, header, tensors);
        } catch (WeightPushException e) {
            // a server that lost or replaced its base (a restart, another trainer's full sync) refuses the adapter:
            // the next publication sends the base again
            boolean baseMissing = e.failures().values().stream()
                    .anyMatch(t -> Status.fromThrowable(t).getCode() == Status.Code.FAILED_PRECONDITION);
            if (withBase || baseMissing) {
                baseFingerprint = null;
            }
            throw e;
        } catch (RuntimeException e) {
            if (withBase) {
                baseFingerprint = null;
            }
            throw e;
        }
    }

    static LoraAdapterSpec spec(LoraConfig c) {
        return LoraAdapterSpec.newBuilder().setR(c.r()).setLoraAlpha((float) c.alpha()).setUseRslora(c.useRslora())
                .addAllTargetModules(c.targetModuleNames()).build();
    }

    @Override
    public String describe() {
        return client.servers().toString();
    }

    @Override
    public void close() {
        client.close();
    }
}
