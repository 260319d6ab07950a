package dev.rollout.bench;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraMerge;
import dev.rollout.model.ModelWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a merged adapter version costs the server ({@code serve --adapter-serving merged}): the time of
 * {@link LoraMerge#merge} from the kept base, as each adapter sync runs it, and the bytes the merged matrices add to
 * the base's. Each version is merged while the previous one still serves, then the previous one is freed, as the
 * engine's swap does, so the peak holds two versions' matrices.
 *
 * <p>{@code bin/launch.sh dev.rollout.bench.LoraMergeBench [MODEL [VERSIONS [RANK]]]}, defaults {@code 135m 6 16}, an
 * all-linear adapter.
 */
public final class LoraMergeBench {
    private LoraMergeBench() {}

    public static void main(String[] args) throws Exception {
        String name = args.length > 0 ? args[0] : "135m";
        int versions = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int rank = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        System.out.println("load average at start: " + loadAverage());
        try (BenchModel loaded = FreshThread.call("load", () -> BenchModel.load(name, 0, Device.cpu()))) {
            JniUtils.setGradMode(false);
            ModelWeights base = loaded.model().weights();
            LoraConfig lora = new LoraConfig(rank, 2.0 * rank, 0, LoraConfig.parseTargets(List.of(LoraConfig.ALL_LINEAR)), false);
            double[] ms = new double[versions];
            ModelWeights serving = null;
            long adapterBytes = 0;
            long owned = 0;
            for (int v = 0; v < versions; v++) {
                try (LoraAdapter adapter = LoraAdapter.initialize(lora, base.config(), v, base.embed().getManager())) {
                    adapterBytes = adapter.parameters().stream().mapToLong(a -> a.size() * 4).sum();
                    long start = System.nanoTime();
                    ModelWeights merged = LoraMerge.merge(base, adapter, base.embed().getManager());
                    ms[v] = (System.nanoTime() - start) / 1e6;
                    owned = merged.ownedByteSize();
                    if (serving != null) {
                        serving.releaseFor(merged);
                    }
                    serving = merged;
                }
                System.out.printf(Locale.ROOT, "version %d: merge %.1f ms%n", v + 1, ms[v]);
            }
            if (serving != null) {
                serving.close();
            }
            double[] later = Arrays.copyOfRange(ms, Math.min(1, versions - 1), versions);
            Arrays.sort(later);
            System.out.printf(Locale.ROOT, "%s, r = %d all-linear: median merge of versions 2-%d %.1f ms (first %.1f ms); "
                    + "base %.1f MB, merged matrices %.1f MB per adapter version (%.0f%% of the base; two versions at "
                    + "the swap), adapter %.1f MB%n", name, rank, versions, later[later.length / 2], ms[0],
                    base.byteSize() / 1e6, owned / 1e6, 100.0 * owned / base.byteSize(), adapterBytes / 1e6);
        }
        System.out.println("load average at end: " + loadAverage());
    }

    private static String loadAverage() throws java.io.IOException {
        Path p = Path.of("/proc/loadavg");
        return Files.exists(p) ? Files.readString(p).trim() : "unknown";
    }
}
