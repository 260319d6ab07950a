package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The decode step on the Java backend: split over threads, each sequence's rows are what it gets alone. */
class JavaPagedAttentionTest {
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    private static PagedStepMetadata decodeStep(int[] contexts, int blockSize) {
        List<PagedAttentionContext.SequenceSlice> slices = new ArrayList<>();
        int next = 0;
        for (int n : contexts) {
            int[] table = new int[(n + blockSize - 1) / blockSize];
            for (int b = 0; b < table.length; b++) {
                table[b] = next++;
            }
            slices.add(new PagedAttentionContext.SequenceSlice(1, n, table));
        }
        return new PagedStepMetadata(slices, blockSize);
    }

    @Test
    void sharesAreContiguousRunsOfTheDecodingSequencesWithSimilarWork() {
        int[] contexts = new int[81];
        for (int i = 0; i < contexts.length; i++) {
            contexts[i] = 40 + 7 * (i % 9);
        }
        PagedStepMetadata m = decodeStep(contexts, 16);
        long total = Arrays.stream(contexts).sum();
        int[][] shares = JavaPagedAttention.split(m, 3);
        assertEquals(3, shares.length);
        int expected = 0;
        for (int[] share : shares) {
            long work = 0;
            for (int i : share) {
                assertEquals(expected++, i, "in order, nothing skipped or repeated");
                work += contexts[i];
            }
            assertTrue(Math.abs(work - total / 3.0) <= 96, "share of " + work + " tokens of " + total);
        }
        assertEquals(contexts.length, expected);
        assertEquals(1, JavaPagedAttention.split(decodeStep(new int[] {30, 40}, 16), 2).length,
                "a step under " + JavaPagedAttention.PARALLEL_MIN_TOKENS + " tokens stays on one thread");
    }

    @Test
    void aSequencesRowsInALargeSplitStepEqualItsRowsAlone() {
        ModelConfig c = TestModels.qwen3(); // head size 16: whole vectors on 16 lanes
        int blockSize = 16;
        int[] contexts = new int[48];
        for (int i = 0; i < contexts.length; i++) {
            contexts[i] = 60 + 3 * i; // 6,672 tokens: split over every core there is
        }
        PagedStepMetadata all = decodeStep(contexts, blockSize);
        int blocks = all.sequences.stream().mapToInt(s -> s.blockTable().length).sum();
        int width = (c.numHeads() + 2 * c.numKvHeads()) * c.headDim();
        Random rng = new Random(5);
        try (KvCache cache = new KvCache(c, blocks, blockSize, manager);
             RotaryEmbedding rope = new RotaryEmbedding(c, manager);
             NDManager step = manager.newSubManager()) {
            for (int l = 0; l < c.numLayers(); l++) {
                cache.keys(l).set(new NDIndex(":"), step.randomNormal(cache.keys(l).getShape()));
                cache.values(l).set(new NDIndex(":"), step.randomNormal(cache.values(l).getShape()));
            }
            float[] qkv = new float[contexts.length * width];
            long[] positions = new long[contexts.length];
            for (int i = 0; i < qkv.length; i++) {
                qkv[i] = (float) rng.nextGaussian();
            }
            for (int s = 0; s < contexts.length; s++) {
                positions[s] = contexts[s] - 1;
            }
            float[] together = attend(cache, all, step, rope, qkv, positions, c);
            int qWidth = c.numHeads() * c.headDim();
            for (int s : new int[] {0, 23, 47}) {
                PagedStepMetadata alone = new PagedStepMetadata(List.of(all.sequences.get(s)), blockSize);
                float[] row = attend(cache, alone, step, rope, Arrays.copyOfRange(qkv, s * width, (s + 1) * width),
                        new long[] {positions[s]}, c);
                assertArrayEquals(row, Arrays.copyOfRange(together, s * qWidth, (s + 1) * qWidth), "sequence " + s);
            }
        }
    }

    private static float[] attend(KvCache cache, PagedStepMetadata m, NDManager step, RotaryEmbedding rope,
            float[] qkv, long[] positions, ModelConfig c) {
        try (JavaPagedAttention attention = new JavaPagedAttention(cache, m, step)) {
            NDArray rows = step.create(qkv, new Shape(positions.length, c.numHeads() + 2L * c.numKvHeads(), c.headDim()));
            return attention.attend(0, rows, rope.at(step.create(positions))).toFloatArray();
        }
    }
}
