package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Rows, masks and comparisons shared by the tests that check one way of scoring completions against another. */
final class ScoringFixtures {
    private ScoringFixtures() {
    }

    /** Rows of 2–6 random prompt tokens and completions of the given lengths, deterministic in the seed. */
    static List<Policy.Sequence> rows(ModelConfig config, int[] completionLengths, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Policy.Sequence> out = new ArrayList<>();
        for (int length : completionLengths) {
            int[] prompt = new int[2 + rng.nextInt(5)];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 3 + rng.nextInt(config.vocabSize() - 3);
            }
            int[] completion = new int[length];
            for (int i = 0; i < length; i++) {
                completion[i] = 3 + rng.nextInt(config.vocabSize() - 3);
            }
            out.add(new Policy.Sequence(prompt, completion));
        }
        return out;
    }

    /** [B, T] fp32: 1 on each row's completion tokens. */
    static NDArray mask(NDManager scope, List<Policy.Sequence> rows, Shape shape) {
        long width = shape.get(1);
        float[] m = new float[(int) (rows.size() * width)];
        for (int r = 0; r < rows.size(); r++) {
            for (int t = 0; t < rows.get(r).completionIds().length; t++) {
                m[(int) (r * width + t)] = 1f;
            }
        }
        return scope.create(m, shape);
    }

    /** Deterministic offsets in [-0.25, 0.25), some past the clip range. */
    static NDArray noise(NDManager scope, Shape shape) {
        SplittableRandom rng = new SplittableRandom(9);
        float[] v = new float[(int) shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (0.5 * rng.nextDouble() - 0.25);
        }
        return scope.create(v, shape);
    }

    /** |a − b| ≤ tolerance element by element, or (relative) ≤ tolerance · max |a|. */
    static void assertClose(float[] expected, float[] actual, double tolerance, boolean relative, String what) {
        assertEquals(expected.length, actual.length, what + ": sizes");
        double largest = 0;
        for (float v : expected) {
            largest = Math.max(largest, Math.abs(v));
        }
        assertTrue(largest > 0, what + ": all zero, nothing compared");
        double scale = relative ? largest : 1;
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance * scale, what + " at " + i);
        }
    }
}
