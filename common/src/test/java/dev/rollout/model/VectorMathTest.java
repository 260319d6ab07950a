package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    private static final int N = VectorMath.LANES.length();

    @Test
    void expIsWithinTwoUlpOfMathExpOverTheWholeRange() {
        float[] x = new float[N];
        float worst = 0;
        for (int i = 0; i < 2_000_000; i += N) {
            for (int l = 0; l < N; l++) {
                x[l] = -87.3f * (i + l) / 2_000_000f; // [-87.3, 0]
            }
            float[] e = VectorMath.expNonPositive(FloatVector.fromArray(VectorMath.LANES, x, 0)).toArray();
            for (int l = 0; l < N; l++) {
                double exact = Math.exp(x[l]);
                worst = Math.max(worst, (float) (Math.abs(e[l] - exact) / Math.ulp((float) exact)));
            }
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
    }

    @Test
    void expIsOneAtZeroAndZeroFarBelow() {
        float[] x = new float[N];
        x[0] = 0f;
        x[1 % N] = -1f;
        float[] e = VectorMath.expNonPositive(FloatVector.fromArray(VectorMath.LANES, x, 0)).toArray();
        assertEquals(1f, e[0]);
        assertEquals(0f, VectorMath.expNonPositive(-88f));
        assertEquals(0f, VectorMath.expNonPositive(-1000f));
        assertEquals(0f, VectorMath.expNonPositive(Float.NEGATIVE_INFINITY));
        assertEquals(Math.exp(-1), VectorMath.expNonPositive(-1f), 2 * Math.ulp((float) Math.exp(-1)));
    }

    @Test
    void sumAddsTheLanesInOrder() {
        float[] v = new float[N];
        float expected = 0;
        for (int i = 0; i < N; i++) {
            v[i] = i == 0 ? 1e8f : 3.7f + i; // adding small to large in order rounds differently from a tree
            expected += v[i];
        }
        assertEquals(expected, VectorMath.sum(FloatVector.fromArray(VectorMath.LANES, v, 0), new float[N]));
    }

    /**
     * The point of the class: the interpreter and C2-compiled code produce the same bits. Each runs in a JVM of its
     * own: one with {@code -Xint}, one with C2 alone compiling in the foreground, so its warm-up surely ends compiled.
     */
    @Test
    void interpretedAndCompiledCodeGiveTheSameBits() throws IOException, InterruptedException {
        String interpreted = fingerprintInChildJvm(Fingerprint.class, List.of("-Xint"), 0);
        String compiled = fingerprintInChildJvm(Fingerprint.class,
                List.of("-XX:-TieredCompilation", "-XX:-BackgroundCompilation"), 3_000);
        assertEquals(interpreted, compiled);
    }

    /** The last line that {@code main}'s class prints when run with {@code warmUpCalls} in a JVM with {@code jvmFlags}. */
    static String fingerprintInChildJvm(Class<?> main, List<String> jvmFlags, int warmUpCalls)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmFlags);
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                main.getName(), Integer.toString(warmUpCalls)));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), output);
        return output.lines().reduce((a, b) -> b).orElse("");
    }

    /** A hash of exp and sum over fixed pseudo-random inputs; run as a main class by the test above. */
    static final class Fingerprint {
        static String of(int n) {
            SplittableRandom rng = new SplittableRandom(5);
            float[] x = new float[N];
            float[] scratch = new float[N];
            long h = 0;
            for (int i = 0; i < n; i += N) {
                for (int l = 0; l < N; l++) {
                    x[l] = (float) (-30 * rng.nextDouble());
                }
                FloatVector e = VectorMath.expNonPositive(FloatVector.fromArray(VectorMath.LANES, x, 0));
                h = h * 31 + Float.floatToRawIntBits(VectorMath.sum(e, scratch));
                for (float f : e.toArray()) {
                    h = h * 31 + Float.floatToRawIntBits(f);
                }
            }
            return Long.toHexString(h);
        }

        public static void main(String[] args) {
            for (int i = 0; i < Integer.parseInt(args[0]); i++) {
                of(256);
            }
            System.out.println(of(4096));
        }
    }
}
