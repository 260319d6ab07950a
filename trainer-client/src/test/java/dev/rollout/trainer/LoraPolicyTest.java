package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDManager;
import dev.rollout.checkpoint.Checkpoint;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import dev.rollout.tiny.ModelPresets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy with a fresh adapter, as a LoRA run starts: the base model's scores, the adapter's tensors to train. */
class LoraPolicyTest {
    private static final LoraConfig LORA = new LoraConfig(16, 32, 0.05, LoraConfig.parseTargets(List.of("all-linear")), false);

    @TempDir
    Path tmp;

    private static List<Policy.Sequence> rows() {
        return List.of(new Policy.Sequence(new int[] {3, 9, 14}, new int[] {5, 6, 2}),
                new Policy.Sequence(new int[] {7, 1}, new int[] {8, 8, 8, 4}));
    }

    @Test
    void stepZeroLogProbsEqualTheBaseModelsExactly() throws Exception {
        Path dir = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        try (Checkpoint c = Checkpoint.open(dir); NDManager m = NDManager.newBaseManager();
             ModelWeights w = c.loadWeights(m); CausalLM base = new CausalLM(c.config(), w);
             CausalLM adapted = new CausalLM(c.config(), w);
             LoraAdapter adapter = LoraAdapter.initialize(LORA, c.config(), 42, m)) {
            adapted.setAdapter(adapter);
            adapter.parameters().forEach(p -> p.setRequiresGradient(true));
            float[] want = new Policy(base).completionLogProbs(rows(), 1.0, m).logProbs().toFloatArray();
            float[] got = new Policy(adapted).completionLogProbs(rows(), 1.0, m).logProbs().toFloatArray();
            assertArrayEquals(want, got);
        }
    }

    @Test
    void trainableParametersAreTheAdaptersAlone() throws Exception {
        Path dir = ModelPresets.materialize("tiny", 0, tmp.resolve("model"));
        try (Checkpoint c = Checkpoint.open(dir); NDManager m = NDManager.newBaseManager();
             ModelWeights w = c.loadWeights(m); CausalLM model = new CausalLM(c.config(), w);
             LoraAdapter adapter = LoraAdapter.initialize(LORA, c.config(), 42, m)) {
            model.setAdapter(adapter);
            List<ai.djl.ndarray.NDArray> trainable = new Policy(model).trainableParameters();
            assertEquals(adapter.parameters().size(), trainable.size());
            for (int i = 0; i < trainable.size(); i++) {
                assertSame(adapter.parameters().get(i), trainable.get(i));
            }
        }
    }
}
