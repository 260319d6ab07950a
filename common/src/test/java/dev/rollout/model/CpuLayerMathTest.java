package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CpuLayerMathTest {
    /** Not a multiple of any vector length: every loop's scalar tail runs too. */
    private static final int WIDTH = 101;

    @Test
    void rmsNormMatchesAFloat64Reference() {
        float[] x = random(4 * WIDTH, 3, 1);
        float[] w = random(WIDTH, 2, 2);
        float eps = 1e-5f;
        float[] y = CpuLayerMath.rmsNorm(x, w, eps);
        double worst = 0;
        for (int r = 0; r < 4; r++) {
            double squares = 0;
            for (int k = 0; k < WIDTH; k++) {
                squares += (double) x[r * WIDTH + k] * x[r * WIDTH + k];
            }
            double rms = Math.sqrt(squares / WIDTH + eps);
            for (int k = 0; k < WIDTH; k++) {
                double exact = x[r * WIDTH + k] / rms * w[k];
                worst = Math.max(worst, Math.abs(y[r * WIDTH + k] - exact) / Math.max(1e-3, Math.abs(exact)));
            }
        }
        assertTrue(worst <= 1e-5, "max relative error " + worst);
    }

    @Test
    void swigluMatchesAFloat64ReferenceOverTheWholeRange() {
        int rows = 3;
        float[] gateUp = random(rows * 2 * WIDTH, 12, 3);
        // saturated and zero gates, where sigmoid's two branches meet or its exponential vanishes
        gateUp[0] = 0f;
        gateUp[1] = -100f;
        gateUp[2] = 100f;
        gateUp[3] = -88f;
        gateUp[WIDTH - 1] = -1e-7f;
        float[] y = CpuLayerMath.swiglu(gateUp, WIDTH);
        assertEquals(rows * WIDTH, y.length);
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < WIDTH; k++) {
                double g = gateUp[2 * r * WIDTH + k];
                double u = gateUp[2 * r * WIDTH + WIDTH + k];
                double exact = g / (1 + Math.exp(-g)) * u;
                worst = Math.max(worst, Math.abs(y[r * WIDTH + k] - exact) / Math.max(1e-6, Math.abs(exact)));
            }
        }
        assertTrue(worst <= 1e-5, "max relative error " + worst);
        assertEquals(0, y[1], 0); // -100 · sigmoid(-100) · up: zero, of either sign
        assertEquals(100f * gateUp[WIDTH + 2], y[2]);
    }

    @Test
    void aRowAloneGetsTheSameBitsAsInABatch() {
        int rows = 5;
        float[] x = random(rows * WIDTH, 3, 4);
        float[] w = random(WIDTH, 2, 5);
        float[] gateUp = random(rows * 2 * WIDTH, 8, 6);
        float[] norms = CpuLayerMath.rmsNorm(x, w, 1e-6f);
        float[] acts = CpuLayerMath.swiglu(gateUp, WIDTH);
        for (int r = 0; r < rows; r++) {
            assertArrayEquals(Arrays.copyOfRange(norms, r * WIDTH, (r + 1) * WIDTH),
                    CpuLayerMath.rmsNorm(Arrays.copyOfRange(x, r * WIDTH, (r + 1) * WIDTH), w, 1e-6f), "norm, row " + r);
            assertArrayEquals(Arrays.copyOfRange(acts, r * WIDTH, (r + 1) * WIDTH),
                    CpuLayerMath.swiglu(Arrays.copyOfRange(gateUp, 2 * r * WIDTH, 2 * (r + 1) * WIDTH), WIDTH),
                    "SwiGLU, row " + r);
        }
    }

    @Test
    void addInPlaceAddsElementWiseAndRejectsMismatchedLengths() {
        float[] x = random(WIDTH, 1, 7);
        float[] y = random(WIDTH, 1, 8);
        float[] expected = new float[WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            expected[i] = x[i] + y[i];
        }
        CpuLayerMath.addInPlace(x, y);
        assertArrayEquals(expected, x);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuLayerMath.addInPlace(new float[3], new float[4]));
        assertTrue(e.getMessage().contains("4 values to 3"), e.getMessage());
    }

    /** As {@link VectorMathTest}'s: the interpreter and C2-compiled code give the same bits. */
    @Test
    void interpretedAndCompiledCodeGiveTheSameBits() throws IOException, InterruptedException {
        String interpreted = VectorMathTest.fingerprintInChildJvm(Fingerprint.class, List.of("-Xint"), 0);
        String compiled = VectorMathTest.fingerprintInChildJvm(Fingerprint.class,
                List.of("-XX:-TieredCompilation", "-XX:-BackgroundCompilation"), 3_000);
        assertEquals(interpreted, compiled);
    }

    private static float[] random(int n, double scale, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (scale * (2 * rng.nextDouble() - 1));
        }
        return a;
    }

    /** A hash of rmsNorm and SwiGLU over fixed pseudo-random inputs; run as a main class by the test above. */
    static final class Fingerprint {
        static String of() {
            long h = 0;
            for (float f : CpuLayerMath.rmsNorm(random(8 * WIDTH, 3, 9), random(WIDTH, 2, 10), 1e-6f)) {
                h = h * 31 + Float.floatToRawIntBits(f);
            }
            for (float f : CpuLayerMath.swiglu(random(8 * 2 * WIDTH, 15, 11), WIDTH)) {
                h = h * 31 + Float.floatToRawIntBits(f);
            }
            return Long.toHexString(h);
        }

        public static void main(String[] args) {
            for (int i = 0; i < Integer.parseInt(args[0]); i++) {
                of();
            }
            System.out.println(of());
        }
    }
}
