package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.rollout.weights.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CausalLMTest {
    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    static Stream<ModelConfig> families() {
        return Stream.of(TestModels.llama(), TestModels.llama3Scaled(), TestModels.qwen2(), TestModels.qwen3());
    }

    private static int[] tokens(ModelConfig c, int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rng.nextInt(c.vocabSize());
        }
        return t;
    }

    private static float[][] denseLogits(CausalLM model, int[] tokens) {
        try (NDManager step = manager.newSubManager()) {
            long[] ids = new long[tokens.length];
            long[] pos = new long[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                ids[i] = tokens[i];
                pos[i] = i;
            }
            NDArray hidden = model.forward(step.create(ids), step.create(pos), new DenseCausalContext(1, tokens.length));
            return rows(model.logits(hidden), tokens.length);
        }
    }

    private static float[][] rows(NDArray logits, int n) {
        float[] flat = logits.toFloatArray();
        int v = (int) logits.getShape().get(1);
        float[][] out = new float[n][v];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * v, out[i], 0, v);
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("families")
    void denseForwardMatchesFloat64Reference(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 7, 0.2);
        int[] tokens = tokens(c, 40, 3);
        double[][] expected = new ReferenceModel(c, host).logits(tokens);
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w)) {
            float[][] got = denseLogits(model, tokens);
            double worst = 0;
            for (int t = 0; t < tokens.length; t++) {
                for (int v = 0; v < c.vocabSize(); v++) {
                    double scale = Math.max(1.0, Math.abs(expected[t][v]));
                    worst = Math.max(worst, Math.abs(got[t][v] - expected[t][v]) / scale);
                }
            }
            assertTrue(worst <= 1e-4, "max relative error " + worst);
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void pagedDecodingMatchesFullSequenceForward(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 11, 0.2);
        int blockSize = 4;
        int[] a = tokens(c, 23, 5);
        int[] b = tokens(c, 14, 6);
        // blocks deliberately out of order and interleaved between the two sequences
        int[] tableA = {9, 2, 7, 0, 11, 4};
        int[] tableB = {5, 10, 1, 8};
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w)) {
            float[][] fullA = denseLogits(model, a);
            float[][] fullB = denseLogits(model, b);
            KvCache cache = new KvCache(c, 12, blockSize, manager);
            double worst = 0;
            // step 1: prefill 10 tokens of A (a chunk) alongside the first 6 of B
            worst = Math.max(worst, step(model, cache, List.of(new Part(a, 0, 10, tableA), new Part(b, 0, 6, tableB)), fullA, fullB));
            // step 2: the rest of A's prompt as a second chunk, B decodes one token
            worst = Math.max(worst, step(model, cache, List.of(new Part(b, 6, 1, tableB), new Part(a, 10, 7, tableA)), fullB, fullA));
            // then both decode token by token, in alternating order
            int pa = 17;
            int pb = 7;
            for (int i = 0; pa < a.length || pb < b.length; i++) {
                List<Part> parts = new ArrayList<>();
                List<float[][]> full = new ArrayList<>();
                if (pa < a.length) {
                    parts.add(new Part(a, pa++, 1, tableA));
                    full.add(fullA);
                }
                if (pb < b.length) {
                    parts.add(i % 2 == 0 ? parts.size() : 0, new Part(b, pb++, 1, tableB));
                    full.add(i % 2 == 0 ? full.size() : 0, fullB);
                }
                worst = Math.max(worst, step(model, cache, parts, full.toArray(new float[0][][])));
            }
            assertTrue(worst <= 1e-4, "max abs difference " + worst);
        }
    }

    /**
     * A prefill of more rows than {@link CpuLayerMath#MAX_ROWS} runs the norms and SwiGLU as tensor ops, the decode
     * steps after it in Java: a cache written by the one and read by the other still matches the dense forward.
     */
    @ParameterizedTest
    @MethodSource("families")
    void aLongPrefillOnTensorOpsThenDecodeStepsInJavaMatchTheDenseForward(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 17, 0.2);
        int prompt = CpuLayerMath.MAX_ROWS + 6;
        int[] a = tokens(c, prompt + 4, 9);
        int[] table = new int[(a.length + 3) / 4];
        for (int i = 0; i < table.length; i++) {
            table[i] = table.length - 1 - i;
        }
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w)) {
            float[][] full = denseLogits(model, a);
            KvCache cache = new KvCache(c, table.length, 4, manager);
            double worst = step(model, cache, List.of(new Part(a, 0, prompt, table)), full);
            for (int p = prompt; p < a.length; p++) {
                worst = Math.max(worst, step(model, cache, List.of(new Part(a, p, 1, table)), full));
            }
            assertTrue(worst <= 1e-4, "max abs difference " + worst);
        }
    }

    /**
     * The bf16 serving mode rounds the projections in place, so the dense fp32 forward over the same weights is its
     * reference: paged steps of few rows (over the bf16 copy) and of many (libtorch's GEMM) both match it.
     */
    @ParameterizedTest
    @MethodSource("families")
    void bf16ServingMatchesTheDenseForwardOverTheRoundedWeights(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 13, 0.2);
        int blockSize = 4;
        int[] a = tokens(c, 21, 7);
        int[] b = tokens(c, 9, 8);
        int[] tableA = {3, 8, 1, 6, 10, 0};
        int[] tableB = {2, 9, 5};
        boolean grad = ai.djl.pytorch.jni.JniUtils.isGradMode();
        ai.djl.pytorch.jni.JniUtils.setGradMode(false); // as on the engine thread; under autograd the kernel stays off
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w)) {
            float before = w.layers().get(0).qkv().toFloatArray()[1];
            model.serveInBf16();
            float after = w.layers().get(0).qkv().toFloatArray()[1];
            assertEquals(Float.intBitsToFloat(dev.rollout.weights.Half.bf16FromFloat(before) << 16), after);
            float[][] fullA = denseLogits(model, a);
            float[][] fullB = denseLogits(model, b);
            KvCache cache = new KvCache(c, 11, blockSize, manager);
            // a prefill of 17 rows (over the limit of the kernel: libtorch), then decode steps of 2 and 1 rows (the kernel)
            double worst = step(model, cache, List.of(new Part(a, 0, 12, tableA), new Part(b, 0, 5, tableB)), fullA, fullB);
            long forwards = model.bf16Forwards();
            int pa = 12;
            int pb = 5;
            while (pa < a.length || pb < b.length) {
                List<Part> parts = new ArrayList<>();
                List<float[][]> full = new ArrayList<>();
                if (pa < a.length) {
                    parts.add(new Part(a, pa++, 1, tableA));
                    full.add(fullA);
                }
                if (pb < b.length) {
                    parts.add(new Part(b, pb++, 1, tableB));
                    full.add(fullB);
                }
                worst = Math.max(worst, step(model, cache, parts, full.toArray(new float[0][][])));
            }
            assertEquals(0, forwards, "the 17-row prefill ran on libtorch");
            assertEquals(a.length - 12, model.bf16Forwards(), "every decode step ran over the bf16 copy");
            assertTrue(worst <= 1e-4, "max abs difference " + worst);
        } finally {
            ai.djl.pytorch.jni.JniUtils.setGradMode(grad);
        }
    }

    @org.junit.jupiter.api.Test
    void inBf16ModeNewWeightsAreRoundedWhenTheyAreSet() {
        ModelConfig c = TestModels.llama();
        try (ModelWeights first = ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, 1, 0.2)), manager);
             ModelWeights second = ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, 2, 0.2)), manager);
             CausalLM model = new CausalLM(c, first)) {
            assertTrue(!model.servesInBf16());
            model.serveInBf16();
            float[] before = second.layers().get(1).down().toFloatArray();
            float[] tied = second.lmHead().toFloatArray();
            model.setWeights(second);
            assertTrue(model.servesInBf16());
            float[] after = second.layers().get(1).down().toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(Float.intBitsToFloat(dev.rollout.weights.Half.bf16FromFloat(before[i]) << 16), after[i]);
            }
            float[] headAfter = second.lmHead().toFloatArray();
            assertEquals(Float.intBitsToFloat(dev.rollout.weights.Half.bf16FromFloat(tied[3]) << 16), headAfter[3]);
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void slotsThatAnEarlierSequenceLeftNaNDoNotReachAttention(ModelConfig c) {
        // Freed blocks are reused as they are: a slot past this sequence's context may hold anything, NaN included
        // (an earlier sequence's overflow). The mask must not be the only thing keeping it out (NaN + -inf is NaN).
        List<HostTensor> host = TestModels.randomWeights(c, 11, 0.2);
        int blockSize = 4;
        int[] a = tokens(c, 11, 9);
        int[] table = {3, 0, 5};
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w)) {
            float[][] full = denseLogits(model, a);
            KvCache cache = new KvCache(c, 6, blockSize, manager);
            for (int l = 0; l < c.numLayers(); l++) {
                cache.keys(l).set(new NDIndex(":"), Float.NaN);
                cache.values(l).set(new NDIndex(":"), Float.NaN);
            }
            double worst = step(model, cache, List.of(new Part(a, 0, 6, table)), full); // a prefill chunk
            for (int p = 6; p < a.length; p++) {
                worst = Math.max(worst, step(model, cache, List.of(new Part(a, p, 1, table)), full)); // decode steps
            }
            assertTrue(worst <= 1e-4, "max abs difference " + worst);
        }
    }

    private record Part(int[] tokens, int start, int count, int[] blockTable) {}

    /** Runs one paged step and returns the largest difference from the full-sequence logits of every token in it. */
    private static double step(CausalLM model, KvCache cache, List<Part> parts, float[][]... full) {
        try (NDManager step = manager.newSubManager()) {
            int total = parts.stream().mapToInt(Part::count).sum();
            long[] ids = new long[total];
            long[] pos = new long[total];
            List<PagedAttentionContext.SequenceSlice> slices = new ArrayList<>();
            int r = 0;
            for (Part p : parts) {
                for (int i = 0; i < p.count(); i++) {
                    ids[r] = p.tokens()[p.start() + i];
                    pos[r++] = p.start() + i;
                }
                slices.add(new PagedAttentionContext.SequenceSlice(p.count(), p.start() + p.count(), p.blockTable()));
            }
            try (PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step, TestModels.attentionBackend())) {
                NDArray hidden = model.forward(step.create(ids), step.create(pos), ctx);
                float[][] got = rows(model.logits(hidden), total);
                double worst = 0;
                r = 0;
                for (int k = 0; k < parts.size(); k++) {
                    Part p = parts.get(k);
                    for (int i = 0; i < p.count(); i++, r++) {
                        float[] want = full[k][p.start() + i];
                        for (int v = 0; v < want.length; v++) {
                            worst = Math.max(worst, Math.abs(got[r][v] - want[v]));
                        }
                    }
                }
                return worst;
            }
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void weightsRoundTripThroughHuggingFaceNames(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 3, 0.1);
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager)) {
            List<HostTensor> back = w.toHost();
            assertEquals(host.size(), back.size());
            for (int i = 0; i < host.size(); i++) {
                assertEquals(host.get(i).name(), back.get(i).name());
                assertEquals(java.util.Arrays.toString(host.get(i).shape()), java.util.Arrays.toString(back.get(i).shape()));
                org.junit.jupiter.api.Assertions.assertArrayEquals(host.get(i).toFloats(), back.get(i).toFloats(), host.get(i).name());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void gradientsReachEveryParameter(ModelConfig c) {
        List<HostTensor> host = TestModels.randomWeights(c, 4, 0.2);
        try (ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(host), manager); CausalLM model = new CausalLM(c, w);
             NDManager step = manager.newSubManager()) {
            w.parameters().forEach(p -> p.setRequiresGradient(true));
            int[] t = tokens(c, 12, 9);
            long[] ids = new long[12];
            long[] pos = new long[12];
            for (int i = 0; i < 12; i++) {
                ids[i] = t[i];
                pos[i] = i % 6;
            }
            try (ai.djl.training.GradientCollector gc = manager.getEngine().newGradientCollector()) {
                NDArray logits = model.logits(model.forward(step.create(ids), step.create(pos), new DenseCausalContext(2, 6)));
                NDArray loss = logits.logSoftmax(-1).get(new NDIndex(":, 0")).mean().neg();
                gc.backward(loss);
            }
            for (NDArray p : w.parameters()) {
                float[] g = p.getGradient().toFloatArray();
                double norm = 0;
                for (float x : g) {
                    norm += x * x;
                }
                assertTrue(norm > 0 && Double.isFinite(norm), "gradient of a " + p.getShape() + " parameter: " + norm);
            }
        }
    }
}
