package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The decode kernel against attention computed in doubles, over shapes that take each of its paths: whole vectors of
 * four and fewer, a scalar remainder of the head, head sizes under one vector, contexts that end inside a tile and a
 * block, one and several query heads per KV head.
 */
class CpuPagedAttentionTest {
    private static final int[] CONTEXTS = {1, 5, 15, 16, 17, 37, 70};

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(8, 2, 64, 16),  // 30m's heads
                Arguments.of(9, 3, 64, 5),   // 135m's, with blocks that do not align with vectors
                Arguments.of(4, 4, 16, 4),
                Arguments.of(4, 1, 24, 16),  // a vector and a remainder (on 16 lanes)
                Arguments.of(6, 2, 8, 4),    // under one vector on 16 lanes
                Arguments.of(2, 1, 128, 16));
    }

    /** A layer's cache with random K/V in every slot a table names and NaN everywhere else. */
    private record Setup(ByteBuffer keys, ByteBuffer values, int[][] tables, float[] qkv, int numBlocks) {}

    private static Setup setup(int heads, int kvHeads, int headDim, int blockSize, long seed) {
        Random rng = new Random(seed);
        int blocksPer = (CONTEXTS[CONTEXTS.length - 1] + blockSize - 1) / blockSize;
        int numBlocks = CONTEXTS.length * blocksPer + 3; // three blocks no sequence owns
        int floats = kvHeads * numBlocks * blockSize * headDim;
        ByteBuffer keys = ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder());
        ByteBuffer values = ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < floats; i++) {
            keys.putFloat(i * 4, Float.NaN);
            values.putFloat(i * 4, Float.NaN);
        }
        List<Integer> ids = new ArrayList<>();
        for (int b = 0; b < numBlocks; b++) {
            ids.add(b);
        }
        Collections.shuffle(ids, rng); // tables out of order and interleaved
        int[][] tables = new int[CONTEXTS.length][];
        for (int s = 0; s < CONTEXTS.length; s++) {
            int n = CONTEXTS[s];
            tables[s] = new int[(n + blockSize - 1) / blockSize];
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = ids.get(s * blocksPer + b);
            }
            for (int p = 0; p < n; p++) {
                for (int h = 0; h < kvHeads; h++) {
                    int at = ((h * numBlocks + tables[s][p / blockSize]) * blockSize + p % blockSize) * headDim;
                    for (int d = 0; d < headDim; d++) {
                        keys.putFloat((at + d) * 4, (float) rng.nextGaussian());
                        values.putFloat((at + d) * 4, (float) rng.nextGaussian());
                    }
                }
            }
        }
        float[] qkv = new float[CONTEXTS.length * (heads + 2 * kvHeads) * headDim];
        for (int i = 0; i < qkv.length; i++) {
            qkv[i] = (float) rng.nextGaussian();
        }
        return new Setup(keys, values, tables, qkv, numBlocks);
    }

    private static double[] reference(Setup s, int seq, int heads, int kvHeads, int headDim, int blockSize) {
        int n = CONTEXTS[seq];
        int group = heads / kvHeads;
        int row = seq * (heads + 2 * kvHeads) * headDim;
        double[] out = new double[heads * headDim];
        for (int qh = 0; qh < heads; qh++) {
            int h = qh / group;
            double[] p = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                int at = ((h * s.numBlocks() + s.tables()[seq][j / blockSize]) * blockSize + j % blockSize) * headDim;
                double dot = 0;
                for (int d = 0; d < headDim; d++) {
                    dot += s.qkv()[row + qh * headDim + d] * (double) s.keys().getFloat((at + d) * 4);
                }
                p[j] = dot / Math.sqrt(headDim);
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
            }
            for (int j = 0; j < n; j++) {
                int at = ((h * s.numBlocks() + s.tables()[seq][j / blockSize]) * blockSize + j % blockSize) * headDim;
                for (int d = 0; d < headDim; d++) {
                    out[qh * headDim + d] += p[j] / sum * s.values().getFloat((at + d) * 4);
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void matchesAttentionInDoublesReadingOnlyTheSequencesOwnSlots(int heads, int kvHeads, int headDim, int blockSize) {
        Setup s = setup(heads, kvHeads, headDim, blockSize, 17);
        CpuPagedAttention kernel = new CpuPagedAttention(heads, kvHeads, headDim, blockSize, s.numBlocks(), 70);
        double worst = 0;
        for (int seq = 0; seq < CONTEXTS.length; seq++) {
            float[] out = new float[heads * headDim];
            kernel.attend(s.qkv(), seq, s.keys(), s.values(), s.tables()[seq], CONTEXTS[seq], out, 0);
            double[] want = reference(s, seq, heads, kvHeads, headDim, blockSize);
            for (int i = 0; i < out.length; i++) {
                assertTrue(Float.isFinite(out[i]), "context " + CONTEXTS[seq] + ": NaN from a slot it does not own");
                worst = Math.max(worst, Math.abs(out[i] - want[i]));
            }
        }
        assertTrue(worst <= 1e-5, "max abs difference " + worst);
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void aSequenceGetsTheSameBitsWhateverWasAttendedBeforeAndOnWhichInstance(int heads, int kvHeads, int headDim,
            int blockSize) {
        Setup s = setup(heads, kvHeads, headDim, blockSize, 23);
        CpuPagedAttention shared = new CpuPagedAttention(heads, kvHeads, headDim, blockSize, s.numBlocks(), 70);
        for (int seq = 0; seq < CONTEXTS.length; seq++) {
            float[] inTurn = new float[heads * headDim];
            shared.attend(s.qkv(), seq, s.keys(), s.values(), s.tables()[seq], CONTEXTS[seq], inTurn, 0);
            // a fresh instance sized to this sequence alone: scratch of another length, nothing left from others
            float[] alone = new float[heads * headDim];
            new CpuPagedAttention(heads, kvHeads, headDim, blockSize, s.numBlocks(), CONTEXTS[seq])
                    .attend(s.qkv(), seq, s.keys(), s.values(), s.tables()[seq], CONTEXTS[seq], alone, 0);
            assertArrayEquals(alone, inTurn, "context " + CONTEXTS[seq]);
        }
    }
}
