package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BatchSamplerTest {
    private static final int VOCAB = 20_000;
    private static final int ROWS = 64;

    private static List<BatchSampler.Draw> draws() {
        List<BatchSampler.Draw> out = new ArrayList<>();
        SamplingParams params = SamplingParams.defaults(4).withTopP(0.9f).withSeed(8L);
        for (int i = 0; i < ROWS; i++) {
            out.add(new BatchSampler.Draw(new Sequence(i, i, 0, new int[] {1}, params, 8L, null), i * VOCAB));
        }
        return out;
    }

    @Test
    void parallelDrawsEqualSequentialDraws() {
        float[] logits = new float[ROWS * VOCAB];
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (2 * rng.nextGaussian());
        }
        try (BatchSampler sequential = new BatchSampler(1); BatchSampler parallel = new BatchSampler(4)) {
            List<BatchSampler.Draw> a = draws();
            List<BatchSampler.Draw> b = draws();
            for (int step = 0; step < 3; step++) {
                Sampler.Sample[] x = sequential.sample(a, logits, VOCAB);
                Sampler.Sample[] y = parallel.sample(b, logits, VOCAB);
                for (int i = 0; i < ROWS; i++) {
                    assertEquals(x[i], y[i], "row " + i);
                }
            }
        }
    }
}
