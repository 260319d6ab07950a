package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PackedMatrixTest {
    private static float[] random(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** x [rows, in] · W[out, in]ᵀ in double precision. */
    private static double[] reference(float[] x, int rows, float[] w, int out, int in) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < out; c++) {
                double s = 0;
                for (int i = 0; i < in; i++) {
                    s += (double) x[r * in + i] * w[c * in + i];
                }
                y[r * out + c] = s;
            }
        }
        return y;
    }

    private static float[] multiply(PackedMatrix m, float[] x, int rows) {
        float[] y = new float[rows * m.out()];
        m.multiply(x, rows, y, 0, m.out());
        return y;
    }

    // rows: 1, under a register tile, one tile, a tile and a remainder, a decode batch; out: whole panels, a partial
    // panel of whole vectors, one that is not a multiple of the vector width, fewer columns than one vector; in: under
    // and over one pass of the panel (128), odd
    @ParameterizedTest
    @CsvSource({"1, 768, 512", "3, 130, 129", "4, 64, 7", "5, 17, 200", "8, 3, 5", "33, 200, 384", "1, 5, 1"})
    void productMatchesFloat64Reference(int rows, int out, int in) {
        float[] w = random(out * in, 1);
        float[] x = random(rows * in, 2);
        double[] expected = reference(x, rows, w, out, in);
        float[] got = multiply(PackedMatrix.ofRowMajor(w, out, in), x, rows);
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - expected[i]));
        }
        assertTrue(worst <= 1e-5 * Math.sqrt(in), "max abs error " + worst);
    }

    @ParameterizedTest
    @CsvSource({"200, 130", "64, 512", "3, 9"})
    void aRowGetsTheSameBitsAloneAsAmidOtherRows(int out, int in) {
        PackedMatrix m = PackedMatrix.ofRowMajor(random(out * in, 3), out, in);
        int rows = 11;
        float[] x = random(rows * in, 4);
        float[] all = multiply(m, x, rows);
        for (int r = 0; r < rows; r++) {
            float[] alone = multiply(m, java.util.Arrays.copyOfRange(x, r * in, (r + 1) * in), 1);
            assertArrayEquals(alone, java.util.Arrays.copyOfRange(all, r * out, (r + 1) * out), "row " + r);
        }
    }

    @ParameterizedTest
    @CsvSource({"300, 64", "1000, 33"})
    void columnsSplitBetweenCallsGiveTheBitsOfOneCall(int out, int in) {
        PackedMatrix m = PackedMatrix.ofRowMajor(random(out * in, 5), out, in);
        int rows = 6;
        float[] x = random(rows * in, 6);
        float[] whole = multiply(m, x, rows);
        float[] split = new float[rows * out];
        int cut = PackedMatrix.tileWidth() * 2;
        m.multiply(x, rows, split, cut, out);
        m.multiply(x, rows, split, 0, cut);
        assertArrayEquals(whole, split);
    }

    @ParameterizedTest
    @CsvSource({"1, 4096, 96", "9, 777, 130"})
    void productSplitOverThreeThreadsEqualsOneThread(int rows, int out, int in) {
        PackedMatrix m = PackedMatrix.ofRowMajor(random(out * in, 7), out, in);
        float[] x = random(rows * in, 8);
        float[] threaded = new float[rows * out];
        CpuLinear.multiply(m, x, rows, threaded, 3);
        assertArrayEquals(multiply(m, x, rows), threaded);
    }

    @org.junit.jupiter.api.Test
    void aWeightOfTheWrongSizeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PackedMatrix.ofRowMajor(new float[10], 3, 4));
    }
}
