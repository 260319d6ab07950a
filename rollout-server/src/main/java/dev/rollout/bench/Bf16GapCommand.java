package dev.rollout.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.model.Devices;
import dev.rollout.model.TorchThreads;
import dev.rollout.model.WeightsDtype;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout-server bench bf16-gap}: how far the bf16 serving mode's log-probs are from the fp32 trainer's. Each
 * sequence is sampled token by token from the bf16-served model (its weights rounded as {@code serve --weights-dtype
 * bf16} rounds them, the LM head over the bf16 copy), and every sampled token's log-prob is compared with the one the
 * fp32 weights give the whole sequence in one dense forward, as the trainer computes it. The served side runs dense
 * forwards too: the paged bf16 path equals the dense forward over the rounded weights to 1e-4 (CausalLMTest).
 */
@Command(name = "bf16-gap", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Log-prob gap between bf16-served weights and the fp32 trainer over sampled generations:"
                + " max and mean |served - trainer| log-prob per generated token.")
public final class Bf16GapCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "30m", paramLabel = "tiny|30m|135m|DIR",
            description = "A preset with random weights or a checkpoint directory. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of a preset's weights, the prompts and the sampling. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--sequences", defaultValue = "4", description = "Generations to compare. Default: ${DEFAULT-VALUE}.")
    int sequences;

    @Option(names = "--prompt-tokens", defaultValue = "32", description = "Random prompt tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Sampled tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "1.0",
            description = "Sampling temperature; log-probs are of logits / temperature, as the trainer's. Default: ${DEFAULT-VALUE}.")
    double temperature;

    /** Max and mean |Δ log-prob| over the generated tokens, and the mean log-prob (for scale). */
    record Gap(int tokens, double max, double mean, double meanLogprob) {}

    @Override
    public Integer call() throws Exception {
        if (sequences <= 0 || promptTokens <= 0 || maxTokens <= 0) {
            throw new IllegalArgumentException("--sequences, --prompt-tokens and --max-tokens must be positive");
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("--temperature must be positive, got " + temperature);
        }
        TorchThreads.configure();
        JniUtils.setGradMode(false);
        try (BenchModel trainer = BenchModel.load(model, seed, Devices.parse("cpu"));
             BenchModel served = BenchModel.load(model, seed, Devices.parse("cpu"))) {
            if (promptTokens + maxTokens > trainer.model().config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("--prompt-tokens + --max-tokens exceeds the model's context");
            }
            System.err.println(WeightsDtype.BF16.applyTo(served.model()));
            Gap g = measure(trainer.model(), served.model(), sequences, promptTokens, maxTokens, temperature, seed);
            System.out.printf(Locale.ROOT, "Model `%s`, %d sequences x (%d prompt + %d sampled tokens), temperature %.2f:"
                            + " |bf16 served - fp32 trainer| log-prob over %d tokens: max %.3g, mean %.3g"
                            + " (mean log-prob %.3f)%n", trainer.name(), sequences, promptTokens, maxTokens, temperature,
                    g.tokens(), g.max(), g.mean(), g.meanLogprob());
        }
        return 0;
    }

    static Gap measure(CausalLM trainer, CausalLM served, int sequences, int promptTokens, int maxTokens,
            double temperature, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int vocab = trainer.config().vocabSize();
        double max = 0;
        double sum = 0;
        double sumLogprob = 0;
        int n = 0;
        for (int s = 0; s < sequences; s++) {
            long[] ids = new long[promptTokens + maxTokens];
            for (int i = 0; i < promptTokens; i++) {
                ids[i] = rng.nextInt(1, vocab);
            }
            double[] servedLogprobs = new double[maxTokens];
            for (int t = 0; t < maxTokens; t++) {
                int len = promptTokens + t;
                float[] row = lastLogits(served, ids, len);
                int token = sample(row, temperature, rng);
                servedLogprobs[t] = logSoftmaxAt(row, temperature, token);
                ids[len] = token;
            }
            float[][] rows = allLogits(trainer, ids, promptTokens - 1, maxTokens);
            for (int t = 0; t < maxTokens; t++) {
                double want = logSoftmaxAt(rows[t], temperature, (int) ids[promptTokens + t]);
                double d = Math.abs(servedLogprobs[t] - want);
                max = Math.max(max, d);
                sum += d;
                sumLogprob += want;
                n++;
            }
        }
        return new Gap(n, max, sum / n, sumLogprob / n);
    }

    private static float[] lastLogits(CausalLM lm, long[] ids, int len) {
        return allLogits(lm, java.util.Arrays.copyOf(ids, len), len - 1, 1)[0];
    }

    /** Logits of rows {@code [from, from + count)} of one dense forward over {@code ids}. */
    private static float[][] allLogits(CausalLM lm, long[] ids, int from, int count) {
        try (NDManager step = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            long[] pos = new long[ids.length];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = i;
            }
            NDArray hidden = lm.forward(step.create(ids), step.create(pos), new DenseCausalContext(1, ids.length));
            float[] flat = lm.logits(hidden.get(new NDIndex("{}:{}", from, from + count))).toFloatArray();
            int v = lm.config().vocabSize();
            float[][] out = new float[count][];
            for (int i = 0; i < count; i++) {
                out[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
            }
            return out;
        }
    }

    /** Gumbel-max over logits / temperature. */
    private static int sample(float[] logits, double temperature, SplittableRandom rng) {
        int best = 0;
        double bestKey = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            double key = logits[i] / temperature - Math.log(-Math.log(rng.nextDouble(Double.MIN_VALUE, 1.0)));
            if (key > bestKey) {
                bestKey = key;
                best = i;
            }
        }
        return best;
    }

    /** log_softmax(logits / temperature)[token], in double. */
    static double logSoftmaxAt(float[] logits, double temperature, int token) {
        double m = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            m = Math.max(m, l / temperature);
        }
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l / temperature - m);
        }
        return logits[token] / temperature - m - Math.log(z);
    }
}
