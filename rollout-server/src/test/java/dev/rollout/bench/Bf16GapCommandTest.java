package dev.rollout.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.WeightsDtype;
import org.junit.jupiter.api.Test;

/** {@code bench bf16-gap}: the log-prob gap between bf16-served weights and the fp32 trainer. */
class Bf16GapCommandTest {

    @Test
    void logSoftmaxAtMatchesTheDefinition() {
        float[] logits = {1f, 2f, 3f};
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertEquals(2 - Math.log(z), Bf16GapCommand.logSoftmaxAt(logits, 1.0, 1), 1e-12);
        double zHalf = Math.exp(2) + Math.exp(4) + Math.exp(6);
        assertEquals(6 - Math.log(zHalf), Bf16GapCommand.logSoftmaxAt(logits, 0.5, 2), 1e-12);
    }

    @Test
    void theGapIsTheRoundingsSmallButNonzeroEffect() throws Exception {
        boolean grad = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try (BenchModel trainer = BenchModel.load("tiny", 0, Device.cpu());
             BenchModel served = BenchModel.load("tiny", 0, Device.cpu());
             BenchModel unrounded = BenchModel.load("tiny", 0, Device.cpu())) {
            WeightsDtype.BF16.applyTo(served.model());
            Bf16GapCommand.Gap g = Bf16GapCommand.measure(trainer.model(), served.model(), 2, 6, 5, 1.0, 3);
            assertEquals(10, g.tokens());
            assertTrue(g.max() > 0 && g.max() < 0.1, "max gap " + g.max());
            assertTrue(g.mean() > 0 && g.mean() <= g.max(), "mean gap " + g.mean());
            // the same measurement against an fp32 copy of the trainer's weights: no gap beyond summation order
            Bf16GapCommand.Gap none = Bf16GapCommand.measure(trainer.model(), unrounded.model(), 2, 6, 5, 1.0, 3);
            assertTrue(none.max() < 1e-4, "fp32 against fp32: " + none.max());
        } finally {
            JniUtils.setGradMode(grad);
        }
    }
}
