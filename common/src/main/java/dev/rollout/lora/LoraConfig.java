package dev.rollout.lora;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A LoRA adapter's hyper-parameters, with PEFT's meaning: rank {@code r}, {@code lora_alpha}, dropout on the adapter's
 * input, the adapted modules, and rsLoRA's scale. The delta of a module is {@code scale · B · A} with
 * {@code scale = lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA.
 */
public record LoraConfig(int r, double alpha, double dropout, Set<LoraTarget> targets, boolean useRslora) {
    /** PEFT's shorthand for every linear module but the output head. */
    public static final String ALL_LINEAR = "all-linear";

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("lora_r must be > 0, got " + r);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lora_alpha must be a positive number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("lora_target_modules is empty: name at least one module");
        }
        targets = Set.copyOf(EnumSet.copyOf(targets));
    }

    /**
     * The modules named as PEFT names them ({@code q_proj}, ..., or {@code all-linear}).
     *
     * @throws IllegalArgumentException naming a module that a Llama-family decoder does not have
     */
    public static Set<LoraTarget> parseTargets(List<String> names) {
        EnumSet<LoraTarget> out = EnumSet.noneOf(LoraTarget.class);
        for (String name : names) {
            if (ALL_LINEAR.equals(name)) {
                out.addAll(EnumSet.allOf(LoraTarget.class));
                continue;
            }
            LoraTarget t = LoraTarget.byModuleName(name);
            if (t == null) {
                throw new IllegalArgumentException("lora_target_modules: the model has no linear module '" + name
                        + "'; its modules are " + moduleNames(EnumSet.allOf(LoraTarget.class)) + " (or " + ALL_LINEAR + ")");
            }
            out.add(t);
        }
        return out;
    }

    public double scale() {
        return useRslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /** The targets in the model's order (q, k, v, o, gate, up, down), by PEFT's names. */
    public List<String> targetModuleNames() {
        return moduleNames(targets);
    }

    public boolean targets(LoraTarget t) {
        return targets.contains(t);
    }

    private static List<String> moduleNames(Set<LoraTarget> targets) {
        List<String> out = new ArrayList<>();
        Arrays.stream(LoraTarget.values()).filter(targets::contains).forEach(t -> out.add(t.moduleName()));
        return out;
    }
}
