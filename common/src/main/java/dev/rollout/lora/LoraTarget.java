package dev.rollout.lora;

import dev.rollout.model.ModelConfig;
import java.util.List;

/**
 * The linear modules of a Llama-family decoder layer that LoRA can adapt, by PEFT's names. The model fuses q/k/v and
 * gate/up into one matmul each, so each module also knows the fused projection it is a row block of.
 */
public enum LoraTarget {
    Q_PROJ("q_proj", "self_attn"),
    K_PROJ("k_proj", "self_attn"),
    V_PROJ("v_proj", "self_attn"),
    O_PROJ("o_proj", "self_attn"),
    GATE_PROJ("gate_proj", "mlp"),
    UP_PROJ("up_proj", "mlp"),
    DOWN_PROJ("down_proj", "mlp");

    /** The fused projections of {@code CausalLM}, each a list of modules whose outputs it concatenates. */
    public static final List<LoraTarget> QKV = List.of(Q_PROJ, K_PROJ, V_PROJ);
    public static final List<LoraTarget> O = List.of(O_PROJ);
    public static final List<LoraTarget> GATE_UP = List.of(GATE_PROJ, UP_PROJ);
    public static final List<LoraTarget> DOWN = List.of(DOWN_PROJ);

    private final String moduleName;
    private final String block;

    LoraTarget(String moduleName, String block) {
        this.moduleName = moduleName;
        this.block = block;
    }

    /** PEFT's (and Hugging Face's) module name, e.g. {@code q_proj}. */
    public String moduleName() {
        return moduleName;
    }

    /** Hugging Face's module path inside layer {@code layer}, e.g. {@code model.layers.0.self_attn.q_proj}. */
    public String modulePath(int layer) {
        return "model.layers." + layer + "." + block + "." + moduleName;
    }

    public long inFeatures(ModelConfig c) {
        return switch (this) {
            case O_PROJ -> c.qSize();
            case DOWN_PROJ -> c.intermediateSize();
            default -> c.hiddenSize();
        };
    }

    public long outFeatures(ModelConfig c) {
        return switch (this) {
            case Q_PROJ -> c.qSize();
            case K_PROJ, V_PROJ -> c.kvSize();
            case GATE_PROJ, UP_PROJ -> c.intermediateSize();
            case O_PROJ, DOWN_PROJ -> c.hiddenSize();
        };
    }

    /** The module PEFT calls {@code name}, or null. */
    public static LoraTarget byModuleName(String name) {
        for (LoraTarget t : values()) {
            if (t.moduleName.equals(name)) {
                return t;
            }
        }
        return null;
    }
}
