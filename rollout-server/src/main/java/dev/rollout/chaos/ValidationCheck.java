package dev.rollout.chaos;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.Set;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every validation rule as a well-formed bad request: each generation rule over GenerateBatch and GenerateStream,
 * each SyncWeights rule ({@link SyncFault}) once. A request passes when it gets the status the contract gives it with
 * a message; anything else (another code, OK, UNKNOWN, no message) is a failure.
 */
final class ValidationCheck {
    static final String NAME = "validation";
    /** A refusal is immediate; a request the server wrongly accepts is cut off here (and fails the check). */
    static final long DEADLINE_SECONDS = 10;

    private ValidationCheck() {}

    static CheckResult run(ChaosTarget target, long seed) throws Exception {
        CheckResult result = new CheckResult(NAME);
        ModelInfo info = target.info();
        for (BadRequests.Case c : BadRequests.of(info).values()) {
            List<Completion> completions = new ArrayList<>();
            expect(result, "GenerateBatch", c, batch(target, c.request(), completions), completions);
            completions.clear();
            expect(result, "GenerateStream", c, stream(target, c.request(), completions), completions);
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (SyncFault fault : SyncFault.values()) {
            long current = target.info().getWeightVersion();
            List<SyncWeightsChunk> stream = fault.apply(SyncStreams.full(info, current + 1, seed), current, random);
            Status status = RawRpc.call(target.channel, RawRpc.Method.SYNC_WEIGHTS, SyncStreams.bytes(stream), 60_000).get();
            expect(result, "SyncWeights", fault.description, Set.of(Status.Code.INVALID_ARGUMENT), status);
        }
        result.fact("rules", BadRequests.of(info).size() + SyncFault.values().length);
        return result;
    }

    private static void expect(CheckResult result, String rpc, BadRequests.Case c, Status got, List<Completion> completions) {
        if (got.isOk() && c.okIfFinite()) {
            result.count(rpc, got);
            String wrong = ConcurrencyCheck.checkCompletions(c.request(), completions);
            if (wrong != null) {
                result.fail(rpc + " with " + c.rule() + ": answered OK but " + wrong);
            }
            return;
        }
        expect(result, rpc, c.rule(), c.expected(), got);
    }

    private static void expect(CheckResult result, String rpc, String rule, Set<Status.Code> expected, Status got) {
        result.count(rpc, got);
        if (!expected.contains(got.getCode())) {
            result.fail(rpc + " with " + rule + ": expected " + names(expected) + ", got " + got.getCode()
                    + (got.getDescription() == null ? "" : " (" + got.getDescription() + ")"));
        } else if (got.getDescription() == null || got.getDescription().isBlank()) {
            result.fail(rpc + " with " + rule + ": " + got.getCode() + " without a message saying what to fix");
        }
    }

    private static String names(Set<Status.Code> codes) {
        return codes.stream().map(Enum::name).sorted().collect(java.util.stream.Collectors.joining(" or "));
    }

    private static Status batch(ChaosTarget target, GenerateBatchRequest request, List<Completion> completions) {
        try {
            completions.addAll(target.blocking(DEADLINE_SECONDS).generateBatch(request).getCompletionsList());
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    private static Status stream(ChaosTarget target, GenerateBatchRequest request, List<Completion> completions) {
        try {
            Iterator<Completion> it = target.blocking(DEADLINE_SECONDS).generateStream(request);
            while (it.hasNext()) {
                completions.add(it.next());
            }
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }
}
