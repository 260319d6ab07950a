package dev.rollout.bench;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraMerge;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelWeights;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What serving a LoRA adapter costs per decode step ({@link DecodeHarness}): the base alone, the adapter merged
 * ({@code W + scale · B · A} in new targeted matrices, the rest shared with the base: {@code serve --adapter-serving
 * merged}, the default), and the adapter unmerged (the base plus {@code scale · (x A^T) B^T} per projection:
 * {@code --adapter-serving unmerged}). The three run interleaved in one process,
 * round after round in a rotating order, so that a machine whose load drifts slows all three alike; the medians over
 * rounds and their ratios are printed, of wall time and of the process's CPU time (all its threads), which other
 * processes on a busy machine stretch far less.
 *
 * <p>{@code bin/launch.sh dev.rollout.bench.LoraDecodeBench [MODEL [ROUNDS [STEPS [BATCH [CONTEXT [RANK]]]]]]}, defaults
 * {@code 135m 6 5 32 192 16}, an all-linear adapter.
 */
public final class LoraDecodeBench {
    private static final String[] MODES = {"base", "merged", "unmerged"};

    private LoraDecodeBench() {}

    public static void main(String[] args) throws Exception {
        String name = arg(args, 0, "135m");
        int rounds = Integer.parseInt(arg(args, 1, "6"));
        int steps = Integer.parseInt(arg(args, 2, "5"));
        int batch = Integer.parseInt(arg(args, 3, "32"));
        int context = Integer.parseInt(arg(args, 4, "192"));
        int rank = Integer.parseInt(arg(args, 5, "16"));
        System.out.println("load average at start: " + loadAverage());
        try (BenchModel loaded = FreshThread.call("load", () -> BenchModel.load(name, 0, Device.cpu()))) {
            JniUtils.setGradMode(false);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            CausalLM model = loaded.model();
            ModelWeights base = model.weights();
            LoraConfig lora = new LoraConfig(rank, 2.0 * rank, 0, LoraConfig.parseTargets(List.of(LoraConfig.ALL_LINEAR)), false);
            try (LoraAdapter adapter = LoraAdapter.initialize(lora, model.config(), 1, base.embed().getManager());
                 ModelWeights merged = LoraMerge.merge(base, adapter, base.embed().getManager());
                 DecodeHarness harness = new DecodeHarness(model, batch, context, 16, base.embed().getManager(),
                         AttentionBackend.AUTO)) {
                // until an engine has run in the process, decode steps measure 5-15x slower (see Roofline's warm-up)
                Roofline.engineDecodeStep(model, batch, context, AttentionBackend.AUTO);
                double[][] ms = new double[MODES.length][rounds];
                double[][] cpu = new double[MODES.length][rounds];
                System.out.printf(Locale.ROOT, "%s, batch %d, context %d, r = %d all-linear: ms per decode step%n", name,
                        batch, context, rank);
                System.out.println("round  wall: " + String.join("  ", MODES) + "   cpu: " + String.join("  ", MODES));
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < MODES.length; k++) {
                        int mode = (r + k) % MODES.length;
                        model.setWeights(mode == 1 ? merged : base);
                        model.setAdapter(mode == 2 ? adapter : null);
                        harness.step(); // the first step after a change pays for it
                        long start = System.nanoTime();
                        long cpuStart = os.getProcessCpuTime();
                        for (int s = 0; s < steps; s++) {
                            harness.step();
                        }
                        ms[mode][r] = (System.nanoTime() - start) / 1e6 / steps;
                        cpu[mode][r] = (os.getProcessCpuTime() - cpuStart) / 1e6 / steps;
                    }
                    System.out.printf(Locale.ROOT, "%5d  %.1f  %.1f  %.1f   %.1f  %.1f  %.1f%n", r + 1, ms[0][r], ms[1][r],
                            ms[2][r], cpu[0][r], cpu[1][r], cpu[2][r]);
                }
                model.setWeights(base);
                model.setAdapter(null);
                printMedians("wall", ms);
                printMedians("cpu", cpu);
                System.out.printf(Locale.ROOT, "memory beyond the base's %.1f MB: merged %.1f MB (the adapted matrices "
                        + "again), unmerged %.1f MB (the adapter)%n", base.byteSize() / 1e6, merged.ownedByteSize() / 1e6,
                        adapter.parameters().stream().mapToLong(a -> a.size() * 4).sum() / 1e6);
            }
        }
        System.out.println("load average at end: " + loadAverage());
    }

    private static void printMedians(String what, double[][] ms) {
        double b = median(ms[0]);
        double m = median(ms[1]);
        double u = median(ms[2]);
        System.out.printf(Locale.ROOT, "median %s: base %.1f ms, merged %.1f ms, unmerged %.1f ms; unmerged / merged %.3f, "
                + "merged / base %.3f%n", what, b, m, u, u / m, m / b);
    }

    private static String arg(String[] args, int i, String fallback) {
        return args.length > i ? args[i] : fallback;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String loadAverage() throws java.io.IOException {
        Path p = Path.of("/proc/loadavg");
        return Files.exists(p) ? Files.readString(p).trim() : "unknown";
    }
}
