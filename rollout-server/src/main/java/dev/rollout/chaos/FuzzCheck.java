package dev.rollout.chaos;

import dev.rollout.proto.v1.ChatMessage;
import dev.rollout.proto.v1.Conversation;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * Byte-mutated requests to every RPC: valid messages (and, for SyncWeights, one message of a valid partial-sync
 * stream) with bits flipped, bytes inserted, deleted or overwritten, or cut short. The server must answer each with a
 * status of its own choosing, never UNKNOWN (an exception it let escape), stay up, free every KV block once idle, keep
 * accepting syncs, and not fill its log.
 */
final class FuzzCheck {
    static final String NAME = "fuzz";
    private static final long DEADLINE_MS = 10_000;

    private FuzzCheck() {}

    static CheckResult run(ChaosTarget target, int perRpc, int parallel, long seed, Consumer<String> progress) throws Exception {
        CheckResult result = new CheckResult(NAME);
        ModelInfo info = target.info();
        ByteMutator mutator = new ByteMutator(seed);
        for (RawRpc.Method method : RawRpc.Method.values()) {
            long logBefore = target.log.warnOrErrorLines();
            List<List<byte[]>> seeds = seeds(method, info);
            Semaphore inFlight = new Semaphore(parallel);
            for (int i = 0; i < perRpc; i++) {
                List<byte[]> messages = new ArrayList<>(seeds.get(mutator.nextInt(seeds.size())));
                int at = mutator.nextInt(messages.size());
                messages.set(at, mutator.mutate(messages.get(at)));
                inFlight.acquire();
                RawRpc.call(target.channel, method, messages, DEADLINE_MS).whenComplete((status, error) -> {
                    result.count(method.rpcName(), status != null ? status : Status.fromThrowable(error));
                    inFlight.release();
                });
            }
            inFlight.acquire(parallel);
            long logAfter = target.log.warnOrErrorLines();
            if (logBefore >= 0) {
                result.fact("log_lines_" + method.rpcName(), logAfter - logBefore);
            }
            if (!target.alive()) {
                result.fail("the server stopped answering after the fuzzed " + method.rpcName() + " requests");
                return result;
            }
            int held = target.blocksHeldWhenIdle(15);
            if (held != 0) {
                result.fail(held + " KV blocks still held 15 s after the fuzzed " + method.rpcName() + " requests ended");
            }
            if (method == RawRpc.Method.SYNC_WEIGHTS) {
                long version = target.info().getWeightVersion();
                Status valid = SyncFaultCheck.send(target, SyncStreams.bytes(SyncStreams.partialSmallest(info, version + 1, seed, 1 << 20)),
                        Integer.MAX_VALUE, RawRpc.Ending.HALF_CLOSE, 60_000);
                if (valid == null) {
                    result.fail("after the fuzzed SyncWeights streams every sync is refused ABORTED: the sync lock is stuck");
                } else if (!valid.isOk()) {
                    result.fail("a valid sync after the fuzzed SyncWeights streams was refused: " + valid.getCode() + " " + valid.getDescription());
                }
            }
            progress.accept(String.format("fuzz: %d mutated %s requests done", perRpc, method.rpcName()));
        }
        result.fact("requests_per_rpc", perRpc);
        return result;
    }

    /** Valid messages (each a whole call's worth) for {@code method} to mutate. */
    static List<List<byte[]>> seeds(RawRpc.Method method, ModelInfo info) {
        return switch (method) {
            case GENERATE_BATCH, GENERATE_STREAM -> generateSeeds().stream().map(r -> List.of(r.toByteArray())).toList();
            case GET_MODEL_INFO, RESET_PREFIX_CACHE -> List.of(List.of(new byte[0]),
                    List.of(GetModelInfoRequest.getDefaultInstance().toByteArray()), List.of(ChaosTarget.PROBE.toByteArray()));
            case SYNC_WEIGHTS -> List.of(SyncStreams.bytes(SyncStreams.partialSmallest(info, info.getWeightVersion() + 1, 7, 64)));
        };
    }

    private static List<GenerateBatchRequest> generateSeeds() {
        SamplingParams sampling = SamplingParams.newBuilder().setN(2).setMaxTokens(4).setTemperature(0.8f).setTopP(0.9f)
                .setTopK(20).setMinP(0.05f).setSeed(11).addStopTokenIds(2).build();
        return List.of(
                GenerateBatchRequest.newBuilder().addPrompts(BadRequests.tokens(1, 2, 3, 4)).addPrompts(BadRequests.tokens(5, 6))
                        .setSampling(sampling).setRequestId("fuzz-tokens").build(),
                GenerateBatchRequest.newBuilder().addPrompts(Prompt.newBuilder().setText("3+4="))
                        .setSampling(sampling.toBuilder().setIgnoreEos(true)).setRequestId("fuzz-text").build(),
                GenerateBatchRequest.newBuilder().addPrompts(Prompt.newBuilder().setConversation(Conversation.newBuilder()
                                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("2+2="))))
                        .setSampling(sampling.toBuilder().setLogprobsModeValue(1)).setMinWeightVersion(0).build());
    }
}
