package dev.rollout.model;

import java.util.Locale;

/**
 * The precision a server serves its weights in. {@code FP32}, the default: the weights as the trainer has them, so
 * served log-probs equal the trainer's. {@code BF16}: the projection and LM-head weights rounded to bf16, with decode
 * steps of few rows reading half the bytes ({@link CausalLM#serveInBf16}); on the CPU only, activations and
 * accumulation stay fp32, and log-probs move from the trainer's by the rounding (docs/benchmarks.md).
 */
public enum WeightsDtype {
    FP32, BF16;

    /** {@code fp32} or {@code bf16}, as {@code --weights-dtype} takes it. */
    public static WeightsDtype parse(String value) {
        return switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("weights dtype must be fp32 or bf16, got '" + value + "'");
        };
    }

    /**
     * Puts {@code model} in this precision; returns a line for the log. Throws {@link IllegalArgumentException} for
     * bf16 off the CPU or without the Vector API module.
     */
    public String applyTo(CausalLM model) {
        if (this == FP32) {
            return "weights served in fp32";
        }
        if (!"cpu".equals(model.weights().embed().getDevice().getDeviceType())) {
            throw new IllegalArgumentException("--weights-dtype bf16 runs on the CPU only; the model is on "
                    + model.weights().embed().getDevice());
        }
        if (!AttentionBackend.VECTOR_API) {
            throw new IllegalArgumentException(
                    "--weights-dtype bf16 needs the JVM started with --add-modules jdk.incubator.vector");
        }
        long bytes = model.serveInBf16();
        return String.format(Locale.ROOT, "weights served in bf16: projections and LM head rounded to bf16, a %d MiB"
                + " bf16 copy read by decode steps of up to %d rows", bytes >> 20, Bf16Weights.MAX_ROWS);
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
