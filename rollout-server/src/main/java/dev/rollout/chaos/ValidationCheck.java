package dev.rollout.chaos;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.SyncWeightsChunk;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every validation rule as a well-formed bad request: each generation rule over GenerateBatch and GenerateStream,
 * each SyncWeights rule ({@link SyncFault}) once. A request passes when it gets the status the contract gives it with
 * a message; anything else (another code, OK, UNKNOWN, no message) is a failure.
 */
final class ValidationCheck {
    static final String NAME = "validation";

    private ValidationCheck() {}

    static CheckResult run(ChaosTarget target, long seed) throws Exception {
        CheckResult result = new CheckResult(NAME);
        ModelInfo info = target.info();
        for (BadRequests.Case c : BadRequests.of(info).values()) {
            expect(result, "GenerateBatch", c.rule(), c.expected(), batch(target, c.request()));
            expect(result, "GenerateStream", c.rule(), c.expected(), stream(target, c.request()));
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (SyncFault fault : SyncFault.values()) {
            long current = target.info().getWeightVersion();
            List<SyncWeightsChunk> stream = fault.apply(SyncStreams.full(info, current + 1, seed), current, random);
            Status status = RawRpc.call(target.channel, RawRpc.Method.SYNC_WEIGHTS, SyncStreams.bytes(stream), 60_000).get();
            expect(result, "SyncWeights", fault.description, Status.Code.INVALID_ARGUMENT, status);
        }
        result.fact("rules", BadRequests.of(info).size() + SyncFault.values().length);
        return result;
    }

    private static void expect(CheckResult result, String rpc, String rule, Status.Code expected, Status got) {
        result.count(rpc, got);
        if (got.getCode() != expected) {
            result.fail(rpc + " with " + rule + ": expected " + expected + ", got " + got.getCode()
                    + (got.getDescription() == null ? "" : " (" + got.getDescription() + ")"));
        } else if (got.getDescription() == null || got.getDescription().isBlank()) {
            result.fail(rpc + " with " + rule + ": " + expected + " without a message saying what to fix");
        }
    }

    private static Status batch(ChaosTarget target, GenerateBatchRequest request) {
        try {
            target.blocking(60).generateBatch(request);
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    private static Status stream(ChaosTarget target, GenerateBatchRequest request) {
        try {
            Iterator<Completion> it = target.blocking(60).generateStream(request);
            while (it.hasNext()) {
                it.next();
            }
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }
}
