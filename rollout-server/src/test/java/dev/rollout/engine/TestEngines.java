package dev.rollout.engine;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TestModels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** A tiny random Llama (vocab 97, 2 layers, GQA 6/2 heads, EOS 2, context 256) and helpers around it, for engine tests. */
final class TestEngines {
    static final ModelConfig CONFIG = TestModels.llama();

    static {
        // A toy model's ops are far too small to split across threads; with the cores shared by other builds,
        // libtorch's worker threads would only wait on each other. Read by DJL when it loads libtorch, just below.
        System.setProperty("ai.djl.pytorch.num_threads", "1");
    }

    private static final NDManager MANAGER = NDManager.newBaseManager(Device.cpu());
    private static CausalLM model;

    private TestEngines() {}

    /** One shared model: built once, never closed (the JVM ends with the tests). */
    static synchronized CausalLM model() {
        if (model == null) {
            model = new CausalLM(CONFIG, weights(11));
        }
        return model;
    }

    static ModelWeights weights(long seed) {
        return ModelWeights.fromHost(CONFIG, TestModels.mapOf(TestModels.randomWeights(CONFIG, seed, 0.3)), MANAGER);
    }

    static ModelWeights weights(java.util.Map<String, dev.rollout.weights.HostTensor> tensors) {
        return ModelWeights.fromHost(CONFIG, tensors, MANAGER);
    }

    static EngineConfig config(int numBlocks) {
        return EngineConfig.defaults().withNumBlocks(numBlocks).withBlockSize(4).withMaxBatchTokens(512)
                .withAttentionBackend(TestModels.attentionBackend());
    }

    static Engine engine(EngineConfig config) {
        return new Engine(model(), config, null);
    }

    /** Prompts of varied lengths in [minLen, maxLen], avoiding the EOS id so that they are plain text. */
    static List<int[]> prompts(int count, int minLen, int maxLen, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] p = new int[minLen + rng.nextInt(maxLen - minLen + 1)];
            for (int j = 0; j < p.length; j++) {
                p[j] = 3 + rng.nextInt(CONFIG.vocabSize() - 3);
            }
            out.add(p);
        }
        return out;
    }

    static List<CompletionResult> generate(Engine engine, List<int[]> prompts, SamplingParams params) {
        return await(engine.submit(new GenerationRequest("test", prompts, params)));
    }

    static List<CompletionResult> await(RequestHandle handle) {
        try {
            return handle.result().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request did not complete", e);
        }
    }

    /** Logits [T][vocab] of a full-sequence dense (training-style) forward. */
    static float[][] denseLogits(CausalLM m, int[] tokens) {
        try (NDManager step = MANAGER.newSubManager()) {
            long[] ids = new long[tokens.length];
            long[] pos = new long[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                ids[i] = tokens[i];
                pos[i] = i;
            }
            NDArray hidden = m.forward(step.create(ids), step.create(pos), new DenseCausalContext(1, tokens.length));
            float[] flat = m.logits(hidden).toFloatArray();
            int v = m.config().vocabSize();
            float[][] out = new float[tokens.length][v];
            for (int i = 0; i < tokens.length; i++) {
                System.arraycopy(flat, i * v, out[i], 0, v);
            }
            return out;
        }
    }

    /**
     * |returned − reference| of each token's log-prob, the reference a dense forward of {@code weights} (then closed)
     * over prompt + completion at temperature 1 (the plain log-softmax).
     */
    static double[] logprobErrors(int[] prompt, CompletionResult c, ModelWeights weights) {
        try (CausalLM reference = new CausalLM(CONFIG, weights)) {
            float[][] logits = denseLogits(reference, concat(prompt, c.tokenIds()));
            double[] out = new double[c.tokenIds().length];
            for (int j = 0; j < out.length; j++) {
                out[j] = Math.abs(logSoftmax(logits[prompt.length - 1 + j], c.tokenIds()[j]) - c.logprobs()[j]);
            }
            return out;
        }
    }

    /** log_softmax(row)[token] in double with Math.exp: the reference the engine's log-probs are held to. */
    static double logSoftmax(float[] row, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : row) {
            sum += Math.exp(x - max);
        }
        return row[token] - max - Math.log(sum);
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
