package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fp32 projection kernel: x · Wᵀ against a double-precision product to float rounding, for every tiling case
 * (rows and outputs not multiples of 4, inputs not a multiple of 16), and each row's bits independent of the rows
 * beside it and of the split over threads.
 */
class NativeProjectionTest {
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
    void isBuiltAndRunsOnTheMachinesTheProjectBuildsOn() {
        // the build compiles the kernel into the jar and every machine kind here has AVX-512
        assertTrue(NativeProjection.available(), "unavailable: " + NativeProjection.unavailableReason());
    }

    @ParameterizedTest
    @CsvSource({"1, 512, 1024", "8, 512, 2816", "3, 37, 6", "5, 15, 1", "4, 16, 4", "7, 1408, 513", "2, 33, 4099"})
    void equalsTheExactProductToFloatRounding(int rows, int in, int out) {
        float[] x = TestModels.uniform(rows * in, 11);
        float[] w = TestModels.uniform(out * in, 12);
        float[] y = NativeProjection.apply(manager.create(x, new Shape(rows, in)), manager.create(w, new Shape(out, in)))
                .toFloatArray();
        assertEquals(rows * out, y.length);
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double exact = 0;
                double magnitude = 0;
                for (int k = 0; k < in; k++) {
                    exact += (double) x[r * in + k] * w[o * in + k];
                    magnitude += Math.abs((double) x[r * in + k] * w[o * in + k]);
                }
                // fp32 accumulation over `in` terms in 16 lanes: well within 1e-6 of the sum of magnitudes
                assertEquals(exact, y[r * out + o], 1e-6 * magnitude + 1e-7, "row " + r + ", output " + o);
            }
        }
    }

    @Test
    void eachRowsBitsDoNotDependOnTheBatchOrTheThreadSplit() {
        int in = 512;
        int out = 1024; // large enough that the batch splits over the threads, while a 4-output slice below does not
        float[] w = TestModels.uniform(out * in, 21);
        NDArray weight = manager.create(w, new Shape(out, in));
        float[] x = TestModels.uniform(CpuLayerMath.MAX_ROWS * in, 22);
        float[] batch = NativeProjection.apply(manager.create(x, new Shape(CpuLayerMath.MAX_ROWS, in)), weight)
                .toFloatArray();
        for (int r = 0; r < CpuLayerMath.MAX_ROWS; r++) {
            float[] row = Arrays.copyOfRange(x, r * in, (r + 1) * in);
            float[] alone = NativeProjection.apply(manager.create(row, new Shape(1, in)), weight).toFloatArray();
            assertArrayEquals(Arrays.copyOfRange(batch, r * out, (r + 1) * out), alone, 0f, "row " + r);
            // a 4-output slice of the weight: no split over threads, other tiles
            float[] slice = Arrays.copyOfRange(w, 8 * in, 12 * in);
            float[] few = NativeProjection.apply(manager.create(row, new Shape(1, in)), manager.create(slice,
                    new Shape(4, in))).toFloatArray();
            assertArrayEquals(Arrays.copyOfRange(batch, r * out + 8, r * out + 12), few, 0f, "row " + r + ", a slice");
        }
    }

    @Test
    void readsAViewOfItsInputAsTheContiguousInput() {
        int rows = 3;
        int in = 40;
        float[] x = TestModels.uniform(rows * in, 31);
        NDArray weight = manager.create(TestModels.uniform(12 * in, 32), new Shape(12, in));
        NDArray contiguous = manager.create(x, new Shape(rows, in));
        NDArray view = manager.create(x, new Shape(in, rows)).transpose(); // [rows, in], not contiguous
        float[] fromView = NativeProjection.apply(view, weight).toFloatArray();
        float[] fromCopy = NativeProjection.apply(view.duplicate(), weight).toFloatArray();
        assertArrayEquals(fromCopy, fromView, 0f);
        assertEquals(rows * 12, NativeProjection.apply(contiguous, weight).size());
    }

    @Test
    void suitsOnlyLargeFp32WeightsOnTheCpu() {
        int in = 512;
        int out = (int) (NativeProjection.MIN_WEIGHT_ELEMENTS / in);
        NDArray weight = manager.zeros(new Shape(out, in));
        assertTrue(NativeProjection.suits(manager.zeros(new Shape(CpuLayerMath.MAX_ROWS, in)), weight));
        assertFalse(NativeProjection.suits(manager.zeros(new Shape(1, in)), manager.zeros(new Shape(out - 1, in))),
                "a weight below the bound stays on libtorch");
        assertFalse(NativeProjection.suits(manager.zeros(new Shape(1, in), DataType.FLOAT16), weight));
        assertFalse(NativeProjection.suits(manager.zeros(new Shape(1, in)), weight.toType(DataType.FLOAT64, false)));
    }
}
