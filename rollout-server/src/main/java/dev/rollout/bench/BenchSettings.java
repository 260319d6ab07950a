package dev.rollout.bench;

import ai.djl.Device;
import dev.rollout.model.AttentionBackend;
import java.util.List;

/**
 * Everything one benchmark run is parameterised by (the {@code bench} command's flags). {@code rooflineBatches} empty
 * skips the roofline section, {@code generations} empty the scenarios; {@code scaling}: the scaling table's grid. {@code device}: where the models and KV caches live; {@code attentionBackend}: the
 * engines' paged attention.
 */
record BenchSettings(String model, long seed, int prompts, List<Integer> generations, int maxTokens, int reps,
                     int blockSize, int equalMemoryBatch, boolean warmup, String rooflineModel,
                     List<Integer> rooflineBatches, int rooflineContext, int rooflineSteps, int gemmSize, Device device,
                     AttentionBackend attentionBackend, ScalingSettings scaling) {

    BenchSettings {
        generations = List.copyOf(generations);
        rooflineBatches = List.copyOf(rooflineBatches);
        require(prompts > 0, "--prompts must be positive, got " + prompts);
        require(generations.stream().allMatch(g -> g > 0), "--generations must list positive counts, got " + generations);
        require(maxTokens > 0, "--max-tokens must be positive, got " + maxTokens);
        require(reps > 0, "--reps must be positive, got " + reps);
        require(blockSize > 0, "--block-size must be positive, got " + blockSize);
        require(equalMemoryBatch > 0, "--equal-memory-batch must be positive, got " + equalMemoryBatch);
        require(rooflineBatches.stream().allMatch(b -> b > 0), "--roofline-batches must be positive, got " + rooflineBatches);
        require(rooflineContext > 0, "--roofline-context must be positive, got " + rooflineContext);
        require(rooflineSteps > 0, "--roofline-steps must be positive, got " + rooflineSteps);
        require(gemmSize > 0, "--gemm-size must be positive, got " + gemmSize);
        device = device == null ? Device.cpu() : device;
        attentionBackend = attentionBackend == null ? AttentionBackend.AUTO : attentionBackend;
        scaling = scaling == null ? new ScalingSettings(List.of(), ScalingSettings.FULL_CONTEXTS, ScalingSettings.DEFAULT_STEPS,
                ScalingSettings.DEFAULT_KV_LIMIT_BYTES, ScalingSettings.DEFAULT_PREFILL_TOKEN_BUDGET) : scaling;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
