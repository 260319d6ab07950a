package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.weights.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The policy scores rows grouped by length ({@link PackedSequences}); the loss and its gradient must be those of the
 * rows scored as one batch padded to the longest row (the layout TRL and this trainer used before), for every loss
 * type, up to float rounding.
 */
class PackedScoringTest {
    private static final ModelConfig CONFIG = TestModels.llama();
    private static final Map<String, HostTensor> WEIGHTS = TestModels.mapOf(TestModels.randomWeights(CONFIG, 5, 0.08));
    /** Long-tailed lengths as RL produces them, an empty completion among them, in no particular order. */
    private static final int[] COMPLETION_LENGTHS = {3, 41, 1, 7, 0, 12, 2, 64, 5, 9, 18, 1};
    private static final List<Policy.Sequence> ROWS = ScoringFixtures.rows(CONFIG, COMPLETION_LENGTHS, 3);
    private static final float[] ADVANTAGES = {0.9f, -0.4f, -0.5f, 1.2f, 0.3f, -1.1f, 0.6f, -0.2f, 0.05f, -0.7f, 0.4f, 0.8f};

    @Test
    void logProbsAndEntropiesEqualThoseOfOnePaddedBatch() {
        try (NDManager manager = NDManager.newBaseManager();
             ModelWeights weights = ModelWeights.fromHost(CONFIG, WEIGHTS, manager);
             CausalLM model = new CausalLM(CONFIG, weights)) {
            TokenLogProbs packed = new Policy(model).completionLogProbs(ROWS, 0.7, manager);
            TokenLogProbs padded = PaddedScoring.logProbs(model, ROWS, 0.7, manager);
            assertEquals(padded.logProbs().getShape(), packed.logProbs().getShape());
            // padding positions too: they read the same (token 0 after the row's last token) in both layouts
            ScoringFixtures.assertClose(padded.logProbs().toFloatArray(), packed.logProbs().toFloatArray(), 1e-5, false, "log-probs");
            ScoringFixtures.assertClose(padded.entropy().toFloatArray(), packed.entropy().toFloatArray(), 1e-5, false, "entropies");
        }
    }

    @ParameterizedTest
    @EnumSource(LossType.class)
    void lossAndGradientsEqualThoseOfOnePaddedBatch(LossType type) {
        BiFunction<TokenLogProbs, NDManager, NDArray> loss = (lp, scope) -> {
            NDArray logp = lp.logProbs();
            NDArray mask = ScoringFixtures.mask(scope, ROWS, logp.getShape());
            // old log-probs a little off the current ones, so that ratios and clipping are not trivially 1
            NDArray old = logp.stopGradient().add(ScoringFixtures.noise(scope, logp.getShape()));
            PolicyLoss.Batch batch = new PolicyLoss.Batch(logp, old, logp.stopGradient().sub(0.05f),
                    scope.create(ADVANTAGES), mask, null, lp.entropy());
            return PolicyLoss.compute(batch, new PolicyLoss.Settings(type, ImportanceSamplingLevel.TOKEN, 0.2, 0.28, 0.04, 64), 200, 2).loss();
        };
        Result packed = run(loss, true);
        Result padded = run(loss, false);
        assertEquals(padded.loss, packed.loss, 1e-5 * Math.max(1, Math.abs(padded.loss)), "loss");
        assertEquals(padded.gradients.size(), packed.gradients.size());
        for (int i = 0; i < padded.gradients.size(); i++) {
            ScoringFixtures.assertClose(padded.gradients.get(i), packed.gradients.get(i), 1e-5, true, "gradient of parameter " + i);
        }
    }

    @Test
    void rowsAreGroupedIntoSegmentsPaddedLittle() {
        PackedSequences packed = new PackedSequences(ROWS);
        long padded = 0;
        long real = 0;
        int longest = 0;
        for (Policy.Sequence s : ROWS) {
            int len = s.promptIds().length + s.completionIds().length;
            real += len;
            longest = Math.max(longest, len);
        }
        padded = (long) ROWS.size() * longest;
        int rows = 0;
        for (DenseCausalContext.Segment s : packed.segments) {
            rows += s.rows();
        }
        assertEquals(ROWS.size(), rows);
        assertEquals(packed.ids.length, packed.context().tokens());
        assertTrue(packed.ids.length <= real * (1 + PackedSequences.MAX_PADDING),
                packed.ids.length + " tokens for " + real + " real ones");
        assertTrue(packed.ids.length < padded / 2, packed.ids.length + " tokens, one padded batch has " + padded);
        for (int i = 1; i < packed.segments.size(); i++) {
            assertTrue(packed.segments.get(i).seqLen() < packed.segments.get(i - 1).seqLen(), "segments longest first");
        }
    }

    private record Result(double loss, List<float[]> gradients) {}

    private static Result run(BiFunction<TokenLogProbs, NDManager, NDArray> loss, boolean packed) {
        try (NDManager manager = NDManager.newBaseManager();
             ModelWeights weights = ModelWeights.fromHost(CONFIG, WEIGHTS, manager);
             CausalLM model = new CausalLM(CONFIG, weights)) {
            weights.parameters().forEach(p -> p.setRequiresGradient(true));
            double value;
            try (NDManager scope = manager.newSubManager();
                 GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                TokenLogProbs lp = packed ? new Policy(model).completionLogProbs(ROWS, 0.7, scope)
                        : PaddedScoring.logProbs(model, ROWS, 0.7, scope);
                NDArray l = loss.apply(lp, scope);
                collector.backward(l);
                value = l.getFloat();
            }
            return new Result(value, weights.parameters().stream().map(p -> p.getGradient().toFloatArray()).toList());
        }
    }
}
