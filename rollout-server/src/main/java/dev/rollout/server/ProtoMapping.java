package dev.rollout.server;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.FinishReason;
import dev.rollout.engine.SamplingParams;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.DType;
import dev.rollout.proto.v1.LogprobsMode;

/** Conversions between the wire messages and the engine's records, with the contract's defaults for unset fields. */
public final class ProtoMapping {
    private ProtoMapping() {}

    /** n 0 means 1; an unset temperature or top_p means 1.0; an unset seed means a random one. Assumes a validated message. */
    public static SamplingParams toEngine(dev.rollout.proto.v1.SamplingParams s) {
        return new SamplingParams(
                s.getN() == 0 ? 1 : s.getN(),
                s.getMaxTokens(),
                s.hasTemperature() ? s.getTemperature() : 1.0f,
                s.hasTopP() ? s.getTopP() : 1.0f,
                s.getTopK(),
                s.getMinP(),
                s.hasSeed() ? s.getSeed() : null,
                s.getStopTokenIdsList().stream().mapToInt(Integer::intValue).toArray(),
                s.getIgnoreEos(),
                s.getLogprobsMode() == LogprobsMode.LOGPROBS_MODE_RAW
                        ? SamplingParams.LogprobsMode.RAW
                        : SamplingParams.LogprobsMode.PROCESSED);
    }

    public static Completion toProto(CompletionResult r, String text) {
        Completion.Builder b = Completion.newBuilder()
                .setPromptIndex(r.promptIndex())
                .setSampleIndex(r.sampleIndex())
                .setText(text)
                .setFinishReason(toProto(r.finishReason()))
                .setWeightVersion(r.weightVersion());
        for (int id : r.promptTokenIds()) {
            b.addPromptTokenIds(id);
        }
        for (int id : r.tokenIds()) {
            b.addTokenIds(id);
        }
        for (long v : r.tokenWeightVersions()) {
            b.addTokenWeightVersions(v);
        }
        for (float lp : r.logprobs()) {
            b.addLogprobs(lp);
        }
        return b.build();
    }

    public static dev.rollout.proto.v1.FinishReason toProto(FinishReason reason) {
        return switch (reason) {
            case STOP -> dev.rollout.proto.v1.FinishReason.FINISH_REASON_STOP;
            case LENGTH -> dev.rollout.proto.v1.FinishReason.FINISH_REASON_LENGTH;
            case ABORTED -> dev.rollout.proto.v1.FinishReason.FINISH_REASON_ABORTED;
        };
    }

    /** The storage dtype a wire dtype names; null for DTYPE_UNSPECIFIED or an unknown value. */
    public static dev.rollout.weights.DType toStorage(DType dtype) {
        return switch (dtype) {
            case DTYPE_FLOAT32 -> dev.rollout.weights.DType.F32;
            case DTYPE_FLOAT16 -> dev.rollout.weights.DType.F16;
            case DTYPE_BFLOAT16 -> dev.rollout.weights.DType.BF16;
            default -> null;
        };
    }

    public static DType toProto(dev.rollout.weights.DType dtype) {
        return switch (dtype) {
            case F32 -> DType.DTYPE_FLOAT32;
            case F16 -> DType.DTYPE_FLOAT16;
            case BF16 -> DType.DTYPE_BFLOAT16;
        };
    }
}
