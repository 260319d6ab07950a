package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraMerge;
import dev.rollout.lora.PeftAdapterFiles;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.SafetensorsReader;
import dev.rollout.weights.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: the policy in the Hugging Face layout (so {@code rollout-server serve --model DIR} and
 * transformers load it as is), or with LoRA the adapter in PEFT's layout ({@code serve --adapter DIR},
 * {@code PeftModel.from_pretrained}) and optionally the merged model in {@code merged/}, plus
 * {@code optimizer.safetensors} (AdamW's moments) and {@code trainer_state.json} (step, weight version, position in the
 * prompt stream, tokens generated so far; in async mode the position of the oldest prompt not yet trained on, and
 * the later ones already trained on, so that a resumed run generates the groups in flight again and trains no prompt
 * twice). Sampling seeds and the prompt order derive from the config's
 * seed, the step and the epoch, so these restore the random state too.
 */
public final class TrainerCheckpoint {
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String STATE_FILE = "trainer_state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainerCheckpoint() {}

    /**
     * @param tokenizerDir the base model's folder: its tokenizer files are copied, and a LoRA adapter names it as its base
     * @param saveMerged with a LoRA adapter, also write the merged model into {@code merged/}
     */
    public static Path save(Path outputDir, Policy policy, ModelConfig config, Path tokenizerDir, AdamW optimizer,
                            TrainingState state, boolean saveMerged) throws IOException {
        Path dir = outputDir.resolve("checkpoint-" + state.step());
        Path partial = outputDir.resolve(".checkpoint-" + state.step() + ".partial");
        deleteRecursively(partial);
        LoraAdapter adapter = policy.model().adapter();
        if (adapter == null) {
            Checkpoint.write(partial, config, policy.model().weights().toHost(), tokenizerDir);
        } else {
            // PEFT's layout: the adapter alone; the base stays where it is
            PeftAdapterFiles.write(partial, adapter, tokenizerDir.toAbsolutePath().toString());
            if (saveMerged) {
                ModelWeights base = policy.model().weights();
                try (ModelWeights merged = LoraMerge.merge(base, adapter, base.embed().getManager().getParentManager())) {
                    Checkpoint.write(partial.resolve("merged"), config, merged.toHost(), tokenizerDir);
                }
            }
        }
        List<HostTensor> moments = new ArrayList<>();
        List<NDArray> first = optimizer.firstMoments();
        List<NDArray> second = optimizer.secondMoments();
        for (int i = 0; i < first.size(); i++) {
            moments.add(HostTensor.ofFloats("exp_avg." + i, first.get(i).getShape().getShape(), first.get(i).toFloatArray()));
            moments.add(HostTensor.ofFloats("exp_avg_sq." + i, second.get(i).getShape().getShape(), second.get(i).toFloatArray()));
        }
        SafetensorsWriter.write(partial.resolve(OPTIMIZER_FILE), moments, Map.of("format", "pt"));
        ObjectNode s = JSON.createObjectNode();
        s.put("global_step", state.step());
        s.put("weight_version", state.weightVersion());
        s.put("epoch", state.epoch());
        s.put("position", state.position());
        s.put("num_input_tokens_seen", state.tokensSeen());
        // async: prompts drawn after the cursor that were trained on already (the cursor is the oldest untrained one)
        state.skipDraws().stream().sorted().forEach(s.putArray("skip_draws")::add);
        s.put("optimizer_steps", optimizer.stepCount());
        Files.writeString(partial.resolve(STATE_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s) + "\n");
        // a checkpoint appears whole or not at all: a crash mid-write leaves only the .partial folder
        deleteRecursively(dir);
        Files.move(partial, dir);
        return dir;
    }

    /** True when {@code dir} holds what {@link #restore} needs. */
    public static boolean isTrainerCheckpoint(Path dir) {
        return Files.isRegularFile(dir.resolve(STATE_FILE)) && Files.isRegularFile(dir.resolve(OPTIMIZER_FILE));
    }

    /** Restores the optimizer's moments and returns the training state saved in {@code dir}. */
    public static TrainingState restore(Path dir, AdamW optimizer) throws IOException {
        if (!isTrainerCheckpoint(dir)) {
            throw new IOException(dir + " is not a training checkpoint (it lacks " + STATE_FILE + " or " + OPTIMIZER_FILE + ")");
        }
        JsonNode s = JSON.readTree(dir.resolve(STATE_FILE).toFile());
        List<float[]> first = new ArrayList<>();
        List<float[]> second = new ArrayList<>();
        try (SafetensorsReader r = SafetensorsReader.open(dir.resolve(OPTIMIZER_FILE))) {
            int n = optimizer.firstMoments().size();
            for (int i = 0; i < n; i++) {
                if (!r.contains("exp_avg." + i) || !r.contains("exp_avg_sq." + i)) {
                    throw new IOException(dir.resolve(OPTIMIZER_FILE) + " has no moments for parameter " + i
                            + ": it was saved for a different model");
                }
                first.add(r.get("exp_avg." + i).toFloats());
                second.add(r.get("exp_avg_sq." + i).toFloats());
            }
        }
        optimizer.restore(s.path("optimizer_steps").asLong(), first, second);
        TrainingState state = new TrainingState(s.path("global_step").asInt(), s.path("weight_version").asLong(),
                s.path("epoch").asInt(), s.path("position").asInt(), s.path("num_input_tokens_seen").asLong());
        java.util.Set<Long> skip = new java.util.HashSet<>();
        s.path("skip_draws").forEach(d -> skip.add(d.asLong()));
        state.skipDraws(skip);
        return state;
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
