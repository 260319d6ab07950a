package dev.rollout.trainer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.TorchThreads;
import dev.rollout.tiny.ModelPresets;
import dev.rollout.tiny.RandomWeights;
import dev.rollout.trainer.config.ImportanceSamplingLevel;
import dev.rollout.trainer.config.LossType;
import dev.rollout.trainer.loss.LossResult;
import dev.rollout.trainer.loss.PolicyLoss;
import dev.rollout.trainer.loss.TokenLogProbs;
import dev.rollout.trainer.optim.AdamW;
import dev.rollout.trainer.optim.GradClip;
import dev.rollout.trainer.optim.Gradients;
import dev.rollout.weights.HostTensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trainer step of {@code trainer bench}'s workload, by part (scoring forward with log-probs, loss, backward, clip,
 * AdamW), in three layouts interleaved round by round: every weight trained with the rows padded into one batch
 * ({@link PaddedScoring}, the layout before grouping by length), every weight with the policy's grouped layout, and a
 * LoRA adapter (r 16, all linear layers) with the grouped layout. A measurement, not a test: run its main with the
 * test classpath, {@code [preset] [rounds] [rows] [max completion length] [layouts]} (default {@code 30m 2 64 256
 * padded,grouped,grouped+lora}), one libtorch thread unless {@code -Drollout.torch.threads} says otherwise. Parts are
 * the calling thread's CPU seconds (libtorch runs a one-thread op and the CPU backward on it), independent of how much
 * of its core the process got; the step's wall time is printed beside them. Round 0 warms up and is not counted.
 */
public final class TrainerStepBench {
    private static final String[] PARTS = {"forward", "loss", "backward", "clip", "adamw", "total", "wall"};
    private static final String LAYOUTS = "padded,grouped,grouped+lora";
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        String preset = args.length > 0 ? args[0] : "30m";
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rowCount = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int cap = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        List<String> layouts = List.of((args.length > 4 ? args[4] : LAYOUTS).split(","));
        System.setProperty(TorchThreads.PROPERTY, System.getProperty(TorchThreads.PROPERTY, "1"));
        TorchThreads.configure();
        ModelConfig config = ModelPresets.config(preset);
        Map<String, HostTensor> host = new LinkedHashMap<>();
        RandomWeights.generate(config, 1).forEach(t -> host.put(t.name(), t));
        List<Policy.Sequence> rows = rows(config, rowCount, cap);
        long tokens = rows.stream().mapToLong(s -> s.completionIds().length).sum();
        System.out.printf(Locale.ROOT, "%s, %d rows of a 12-token prompt, completion tokens %d (mean %.1f), load %.2f%n",
                preset, rowCount, tokens, (double) tokens / rowCount, load());
        Map<String, double[]> means = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager();
             ModelWeights weights = ModelWeights.fromHost(config, host, manager);
             CausalLM model = new CausalLM(config, weights);
             LoraAdapter adapter = LoraAdapter.initialize(new LoraConfig(16, 32, 0,
                     LoraConfig.parseTargets(List.of(LoraConfig.ALL_LINEAR)), false), config, 1, manager)) {
            adapter.parameters().forEach(p -> p.setRequiresGradient(true));
            Policy policy = new Policy(model);
            AdamW full = new AdamW(weights.parameters(), 0.9, 0.999, 1e-8, 0);
            AdamW lora = new AdamW(adapter.parameters(), 0.9, 0.999, 1e-8, 0);
            PolicyLoss.Settings settings = new PolicyLoss.Settings(LossType.DAPO, ImportanceSamplingLevel.TOKEN, 0.2, 0.2,
                    0, cap);
            for (int round = 0; round <= rounds; round++) {
                for (String layout : layouts) {
                    boolean withAdapter = layout.endsWith("lora");
                    model.setAdapter(withAdapter ? adapter : null);
                    weights.parameters().forEach(p -> p.setRequiresGradient(!withAdapter));
                    double[] t = step(policy, model, rows, layout.equals("padded"), withAdapter ? lora : full,
                            withAdapter ? adapter.parameters() : weights.parameters(), settings, manager);
                    System.out.printf(Locale.ROOT, "round %d %-13s %s%n", round, layout, describe(t));
                    if (round > 0) {
                        double[] m = means.computeIfAbsent(layout, k -> new double[PARTS.length]);
                        for (int i = 0; i < t.length; i++) {
                            m[i] += t[i] / rounds;
                        }
                    }
                }
            }
        }
        for (Map.Entry<String, double[]> e : means.entrySet()) {
            System.out.printf(Locale.ROOT, "mean  %-13s %s%n", e.getKey(), describe(e.getValue()));
        }
        if (means.containsKey("padded") && means.containsKey("grouped") && means.containsKey("grouped+lora")) {
            double padded = means.get("padded")[PARTS.length - 2];
            System.out.printf(Locale.ROOT, "CPU time padded / grouped %.2fx, padded / grouped+lora %.2fx%n",
                    padded / means.get("grouped")[PARTS.length - 2], padded / means.get("grouped+lora")[PARTS.length - 2]);
        }
        System.out.printf(Locale.ROOT, "load %.2f%n", load());
    }

    private static double[] step(Policy policy, CausalLM model, List<Policy.Sequence> rows, boolean padded,
                                 AdamW optimizer, List<NDArray> trainable, PolicyLoss.Settings settings,
                                 NDManager manager) {
        double[] t = new double[PARTS.length];
        long wall = System.nanoTime();
        long start = THREADS.getCurrentThreadCpuTime();
        long mark = start;
        try (NDManager scope = manager.newSubManager();
             GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            TokenLogProbs lp = padded ? PaddedScoring.logProbs(model, rows, 1.0, scope)
                    : policy.completionLogProbs(rows, 1.0, scope);
            lp.logProbs().toFloatArray(); // waits for the forward
            mark = lap(t, 0, mark);
            long width = lp.logProbs().getShape().get(1);
            float[] m = new float[(int) (rows.size() * width)];
            float[] advantages = new float[rows.size()];
            double active = 0;
            for (int r = 0; r < rows.size(); r++) {
                advantages[r] = (r % 8) / 4f - 1f;
                for (int k = 0; k < rows.get(r).completionIds().length; k++) {
                    m[(int) (r * width + k)] = 1;
                    active++;
                }
            }
            LossResult loss = PolicyLoss.compute(new PolicyLoss.Batch(lp.logProbs(), null, null,
                    scope.create(advantages), scope.create(m, lp.logProbs().getShape()), null, lp.entropy()), settings,
                    active, 1);
            mark = lap(t, 1, mark);
            collector.backward(loss.loss());
            mark = lap(t, 2, mark);
        }
        GradClip.clipGlobalNorm(trainable, 1.0);
        mark = lap(t, 3, mark);
        optimizer.step(1e-6);
        Gradients.zero(trainable);
        lap(t, 4, mark);
        t[5] = (THREADS.getCurrentThreadCpuTime() - start) / 1e9;
        t[6] = (System.nanoTime() - wall) / 1e9;
        return t;
    }

    /** Geometric completion lengths (a token stops with probability 1/64), capped: the bench's long tail. */
    private static List<Policy.Sequence> rows(ModelConfig config, int count, int cap) {
        SplittableRandom rng = new SplittableRandom(7);
        List<Policy.Sequence> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            int len = 1;
            while (len < cap && rng.nextInt(64) != 0) {
                len++;
            }
            rows.add(new Policy.Sequence(ids(rng, 12, config), ids(rng, len, config)));
        }
        return rows;
    }

    private static int[] ids(SplittableRandom rng, int n, ModelConfig config) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + rng.nextInt(config.vocabSize() - 3);
        }
        return ids;
    }

    private static long lap(double[] t, int part, long since) {
        long now = THREADS.getCurrentThreadCpuTime();
        t[part] = (now - since) / 1e9;
        return now;
    }

    private static String describe(double[] t) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < PARTS.length; i++) {
            b.append(String.format(Locale.ROOT, "%s %.2f s%s", PARTS[i], t[i], i + 1 < PARTS.length ? ", " : ""));
        }
        return b.toString();
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
