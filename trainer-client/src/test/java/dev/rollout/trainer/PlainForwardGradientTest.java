package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraTarget;
import dev.rollout.lora.TestAdapters;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.RlooLoss;
import dev.rollout.weights.HostTensor;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The policy's training forward (rows packed into segments, q/k/v, gate/up and the segments split rather than sliced,
 * a fused projection's LoRA A's in one matmul, the LoRA scale on the rank-r product) computes what the plain one
 * ({@link PlainTrainingForward}) does: log-probs, the loss and every trainable tensor's gradient to 1e-5, every
 * weight trained or a LoRA adapter, for GRPO's and RLOO's losses.
 */
class PlainForwardGradientTest {
    private static final ModelConfig CONFIG = TestModels.llama();
    private static final Map<String, HostTensor> WEIGHTS = TestModels.mapOf(TestModels.randomWeights(CONFIG, 11, 0.08));
    /** Scale 1.5: not a power of two, so where the scale multiplies rounds differently. */
    private static final LoraConfig LORA = new LoraConfig(4, 6, 0, EnumSet.allOf(LoraTarget.class), false);
    private static final Map<String, HostTensor> ADAPTER = TestAdapters.random(LORA, CONFIG, 12, 0.1);
    private static final int[] COMPLETION_LENGTHS = {5, 30, 1, 9, 0, 14, 2, 27};
    private static final List<Policy.Sequence> ROWS = ScoringFixtures.rows(CONFIG, COMPLETION_LENGTHS, 4);
    private static final float[] ADVANTAGES = {0.9f, -0.4f, -0.5f, 1.2f, 0.3f, -1.1f, 0.6f, -0.2f};

    @ParameterizedTest
    @CsvSource({"GRPO, false", "GRPO, true", "DAPO, true", "RLOO, false", "RLOO, true"})
    void logProbsLossAndGradientsEqualThePlainForwards(String loss, boolean lora) {
        BiFunction<NDArray, NDManager, NDArray> objective = (logp, scope) -> {
            NDArray mask = ScoringFixtures.mask(scope, ROWS, logp.getShape());
            NDArray adv = scope.create(ADVANTAGES);
            if (loss.equals("RLOO")) {
                NDArray old = logp.mul(mask).sum(new int[] {1}).stopGradient().add(0.1f);
                return RlooLoss.compute(logp, old, adv, mask, null, 0.2, 0.28, 1).loss();
            }
            NDArray old = logp.stopGradient().add(ScoringFixtures.noise(scope, logp.getShape()));
            return PolicyLoss.compute(new PolicyLoss.Batch(logp, old, null, adv, mask, null, null),
                    new PolicyLoss.Settings(LossType.valueOf(loss), ImportanceSamplingLevel.TOKEN, 0.2, 0.28, 0, 32),
                    150, 1).loss();
        };
        Result policy = run(objective, lora, true);
        Result plain = run(objective, lora, false);
        ScoringFixtures.assertClose(plain.logProbs, policy.logProbs, 1e-5, false, "log-probs");
        assertEquals(plain.loss, policy.loss, 1e-5 * Math.max(1, Math.abs(plain.loss)), "loss");
        assertEquals(plain.gradients.size(), policy.gradients.size());
        assertTrue(plain.gradients.size() >= (lora ? 2 * 7 * CONFIG.numLayers() : 3), "tensors compared");
        for (int i = 0; i < plain.gradients.size(); i++) {
            ScoringFixtures.assertClose(plain.gradients.get(i), policy.gradients.get(i), 1e-5, true, "gradient of tensor " + i);
        }
    }

    private record Result(float[] logProbs, double loss, List<float[]> gradients) {}

    private static Result run(BiFunction<NDArray, NDManager, NDArray> objective, boolean lora, boolean packed) {
        try (NDManager manager = NDManager.newBaseManager();
             ModelWeights weights = ModelWeights.fromHost(CONFIG, WEIGHTS, manager);
             CausalLM model = new CausalLM(CONFIG, weights);
             LoraAdapter adapter = LoraAdapter.fromHost(LORA, CONFIG, ADAPTER, manager)) {
            model.setAdapter(lora ? adapter : null);
            Policy policy = new Policy(model);
            policy.trainableParameters().forEach(p -> p.setRequiresGradient(true));
            float[] logProbs;
            double value;
            try (NDManager scope = manager.newSubManager();
                 GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray logp = packed ? policy.completionLogProbs(ROWS, 0.8, scope).logProbs()
                        : PlainTrainingForward.logProbs(model, ROWS, 0.8, scope);
                NDArray l = objective.apply(logp, scope);
                collector.backward(l);
                logProbs = logp.toFloatArray();
                value = l.getFloat();
            }
            return new Result(logProbs, value,
                    policy.trainableParameters().stream().map(p -> p.getGradient().toFloatArray()).toList());
        }
    }
}
