package dev.rollout.weights;

/** Element types of stored tensors. Models compute in fp32 (DJL cannot hold bf16), so the others are storage formats. */
public enum DType {
    F32("F32", 4),
    F16("F16", 2),
    BF16("BF16", 2);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    /** The dtype string used in a safetensors header. */
    public String safetensorsName() {
        return safetensorsName;
    }

    public int bytes() {
        return bytes;
    }

    /** Parses a safetensors dtype string; other types (I64, F64, ...) are refused with a message naming them. */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported tensor dtype '" + name + "' (supported: F32, F16, BF16)");
    }
}
