package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.model.UnreachableBuffers;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.RlooLoss;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.weights.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Backward must not depend on when the JVM collects garbage. DJL backs a tensor made from Java data with a direct
 * buffer that the GC frees once the tensor's Java handle is closed or unreachable; if autograd saved that tensor,
 * backward then reads freed memory. Each case builds a loss through the real model, lets the GC free every buffer it
 * can, runs backward, and compares every parameter's gradient bit for bit with the same run without the collection.
 */
class GradientsSurviveGcTest {
    private static final ModelConfig CONFIG = TestModels.llama();
    private static final Map<String, HostTensor> WEIGHTS = TestModels.mapOf(TestModels.randomWeights(CONFIG, 11, 0.05));
    private static final List<Policy.Sequence> ROWS = List.of(
            new Policy.Sequence(new int[] {5, 9, 14}, new int[] {20, 7, 3}),
            new Policy.Sequence(new int[] {8, 1}, new int[] {33, 2}),
            new Policy.Sequence(new int[] {40, 41, 42, 43}, new int[] {6}));
    private static final float[] ADVANTAGES = {0.9f, -0.4f, -0.5f};

    @ParameterizedTest
    @EnumSource(LossType.class)
    void policyLossGradients(LossType type) throws InterruptedException {
        assertSameWithAndWithoutGc((policy, scope) -> {
            TokenLogProbs lp = policy.completionLogProbs(ROWS, 0.7, scope);
            NDArray mask = mask(scope, lp);
            PolicyLoss.Batch batch = new PolicyLoss.Batch(lp.logProbs(), null, lp.logProbs().stopGradient().sub(0.05f),
                    scope.create(ADVANTAGES), mask, null, lp.entropy());
            return PolicyLoss.compute(batch, new PolicyLoss.Settings(type, ImportanceSamplingLevel.TOKEN, 0.2, 0.28,
                    0.04, 3), 6, 2).loss();
        });
    }

    @Test
    void rlooLossGradients() throws InterruptedException {
        assertSameWithAndWithoutGc((policy, scope) -> {
            TokenLogProbs lp = policy.completionLogProbs(ROWS, 0.7, scope);
            return RlooLoss.compute(lp.logProbs(), null, scope.create(ADVANTAGES), mask(scope, lp), null, 0.2, 0.2, 3)
                    .loss();
        });
    }

    @Test
    void supervisedWarmupGradients() throws InterruptedException {
        assertSameWithAndWithoutGc((policy, scope) -> SupervisedWarmup.loss(policy, ROWS, scope));
    }

    private static void assertSameWithAndWithoutGc(BiFunction<Policy, NDManager, NDArray> loss)
            throws InterruptedException {
        List<float[]> undisturbed = gradients(loss, false);
        List<float[]> collected = gradients(loss, true);
        assertEquals(undisturbed.size(), collected.size());
        for (int i = 0; i < undisturbed.size(); i++) {
            float[] g = undisturbed.get(i);
            boolean finite = true;
            boolean nonZero = false;
            for (float v : g) {
                finite &= Float.isFinite(v);
                nonZero |= v != 0;
            }
            assertTrue(finite && nonZero, "parameter " + i + " has a usable gradient without the collection");
            assertArrayEquals(g, collected.get(i), "parameter " + i + "'s gradient changed when the GC ran before backward");
        }
    }

    private static List<float[]> gradients(BiFunction<Policy, NDManager, NDArray> loss, boolean collectBeforeBackward)
            throws InterruptedException {
        try (NDManager manager = NDManager.newBaseManager();
             ModelWeights weights = ModelWeights.fromHost(CONFIG, WEIGHTS, manager);
             CausalLM model = new CausalLM(CONFIG, weights)) {
            weights.parameters().forEach(p -> p.setRequiresGradient(true));
            Policy policy = new Policy(model);
            try (NDManager scope = manager.newSubManager();
                 GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray value = loss.apply(policy, scope);
                if (collectBeforeBackward) {
                    UnreachableBuffers.free();
                }
                collector.backward(value);
            }
            return weights.parameters().stream().map(p -> p.getGradient().toFloatArray()).toList();
        }
    }

    private static NDArray mask(NDManager scope, TokenLogProbs lp) {
        long width = lp.logProbs().getShape().get(1);
        float[] m = new float[(int) (ROWS.size() * width)];
        for (int r = 0; r < ROWS.size(); r++) {
            for (int t = 0; t < ROWS.get(r).completionIds().length; t++) {
                m[(int) (r * width + t)] = 1f;
            }
        }
        return scope.create(m, lp.logProbs().getShape());
    }
}
