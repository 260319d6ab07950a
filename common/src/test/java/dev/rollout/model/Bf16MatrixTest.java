package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.rollout.weights.Half;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The bf16 projection kernel: libtorch's fp32 matmul over the rounded weights, row by row independent of its batch. */
class Bf16MatrixTest {
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void roundsEachWeightToTheNearestBf16() {
        float[] w = TestModels.uniform(6 * 37, 1);
        w[5] = Float.intBitsToFloat(0x3f808000); // a tie between two bf16 values: to the even one
        Bf16Matrix m = Bf16Matrix.of(manager.create(w, new Shape(6, 37)));
        for (int i = 0; i < w.length; i++) {
            float want = Float.intBitsToFloat(Half.bf16FromFloat(w[i]) << 16);
            assertEquals(want, m.get(i / 37, i % 37), "element " + i);
        }
        assertEquals(1.0f, m.get(0, 5));
    }

    /** Shapes with every edge: outputs not a multiple of the tile, inputs not a multiple of the lanes, 1-9 rows. */
    @ParameterizedTest
    @CsvSource({"1,13,37", "2,8,16", "3,64,70", "4,4,512", "5,33,129", "8,130,64", "9,7,1408"})
    void equalsLibtorchMatmulOverTheRoundedWeights(int rows, int out, int in) {
        NDArray weight = manager.create(TestModels.uniform(out * in, out + in), new Shape(out, in));
        Bf16Matrix m = Bf16Matrix.of(weight);
        float[] rounded = new float[out * in];
        for (int i = 0; i < rounded.length; i++) {
            rounded[i] = m.get(i / in, i % in);
        }
        float[] x = TestModels.uniform(rows * in, rows);
        float[] want = manager.create(x, new Shape(rows, in)).matMul(manager.create(rounded, new Shape(out, in)).transpose())
                .toFloatArray();
        float[] got = new float[rows * out];
        m.multiply(x, rows, got, 0, out);
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                // relative to the sum of |terms|, the scale of the rounding in any summation order
                double scale = 0;
                for (int k = 0; k < in; k++) {
                    scale += Math.abs(x[r * in + k] * rounded[o * in + k]);
                }
                worst = Math.max(worst, Math.abs(got[r * out + o] - want[r * out + o]) / Math.max(scale, 1e-30));
            }
        }
        assertTrue(worst <= 1e-5, "max relative error " + worst);
    }

    @Test
    void aRowGetsTheSameBitsAloneAsAmongOtherRows() {
        int out = 45;
        int in = 200;
        Bf16Matrix m = Bf16Matrix.of(manager.create(TestModels.uniform(out * in, 3), new Shape(out, in)));
        float[] batch = TestModels.uniform(7 * in, 4);
        float[] all = new float[7 * out];
        m.multiply(batch, 7, all, 0, out);
        for (int r = 0; r < 7; r++) {
            float[] alone = new float[out];
            m.multiply(Arrays.copyOfRange(batch, r * in, (r + 1) * in), 1, alone, 0, out);
            assertArrayEquals(alone, Arrays.copyOfRange(all, r * out, (r + 1) * out), "row " + r);
        }
    }

    @Test
    void splittingTheOutputsOverThreadsChangesNoBit() {
        int out = 301;
        int in = 96;
        Bf16Matrix m = Bf16Matrix.of(manager.create(TestModels.uniform(out * in, 5), new Shape(out, in)));
        float[] x = TestModels.uniform(5 * in, 6);
        float[] one = new float[5 * out];
        Bf16Weights.multiply(m, x, 5, one, 1);
        for (int threads : new int[] {2, 3}) {
            float[] split = new float[5 * out];
            Bf16Weights.multiply(m, x, 5, split, threads);
            assertArrayEquals(one, split, threads + " threads");
        }
    }
}
