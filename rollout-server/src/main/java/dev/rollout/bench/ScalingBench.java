package dev.rollout.bench;

import ai.djl.ndarray.NDManager;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * How a step's cost grows with work: decode ({@link DecodeHarness}) and prefill ({@link PrefillHarness}) model steps
 * over a grid of batch sizes and contexts, each against the machine's floor, as {@link Roofline} defines it. Model
 * steps, not engine steps: the grid has up to 36 cells and an engine run per cell would not fit a bounded benchmark;
 * the roofline section measures what the engine adds on top.
 */
final class ScalingBench {
    static final String DECODE = "decode";
    static final String PREFILL = "prefill";

    private ScalingBench() {}

    static ScalingTable measure(String modelName, CausalLM model, MachineCeilings ceilings, ScalingSettings s,
            int blockSize, AttentionBackend backend, Consumer<String> log) {
        long start = System.nanoTime();
        NDManager parent = model.weights().embed().getManager();
        ModelConfig c = model.config();
        List<ScalingCell> cells = new ArrayList<>();
        for (String phase : List.of(DECODE, PREFILL)) {
            for (int context : s.contexts()) {
                for (int batch : s.batches()) {
                    int chunk = phase.equals(DECODE) ? 1 : s.prefillChunk(batch, context);
                    int tokens = batch * chunk;
                    long kv = (long) batch * ((context + blockSize - 1) / blockSize) * blockSize * c.kvBytesPerToken();
                    String why = context > c.maxPositionEmbeddings()
                            ? "context beyond the model's " + c.maxPositionEmbeddings() + " positions"
                            : kv > s.kvLimitBytes() ? String.format(Locale.ROOT, "KV cache %.1f GiB > the %.1f GiB limit",
                                    kv / (double) (1L << 30), s.kvLimitBytes() / (double) (1L << 30)) : null;
                    ScalingCell cell;
                    if (why != null) {
                        cell = ScalingCell.skipped(phase, batch, context, tokens, kv, why);
                        log.accept(String.format("  %s batch %d, context %d: skipped (%s)", phase, batch, context, why));
                    } else {
                        double step = FreshThread.call("scaling " + phase, () -> phase.equals(DECODE)
                                ? decodeStep(model, batch, context, blockSize, parent, backend, s.steps())
                                : prefillStep(model, batch, chunk, context, blockSize, parent, backend, s.steps()));
                        cell = new ScalingCell(phase, batch, context, tokens, kv, step,
                                floorSeconds(c, ceilings, batch, chunk, context), null);
                        log.accept(String.format("  %s batch %d, context %d (%d tokens a step): %.2f ms, %.0f tok/s, %.1fx"
                                + " the floor", phase, batch, context, tokens, step * 1e3, cell.tokensPerSecond(),
                                cell.stepOverFloor()));
                    }
                    cells.add(cell);
                }
            }
        }
        return new ScalingTable(modelName, s, cells, (System.nanoTime() - start) / 1e9);
    }

    private static double decodeStep(CausalLM model, int batch, int context, int blockSize, NDManager parent,
            AttentionBackend backend, int steps) {
        try (DecodeHarness h = new DecodeHarness(model, batch, context, blockSize, parent, backend)) {
            return median(h::step, steps);
        }
    }

    private static double prefillStep(CausalLM model, int batch, int chunk, int context, int blockSize, NDManager parent,
            AttentionBackend backend, int steps) {
        try (PrefillHarness h = new PrefillHarness(model, batch, chunk, context, blockSize, parent, backend)) {
            return median(h::step, steps);
        }
    }

    /** Median of {@code steps} timed runs after two untimed ones (first-use allocation and page faults). */
    private static double median(DoubleSupplier step, int steps) {
        step.getAsDouble();
        step.getAsDouble();
        double[] times = new double[steps];
        for (int i = 0; i < steps; i++) {
            long t = System.nanoTime();
            step.getAsDouble();
            times[i] = (System.nanoTime() - t) / 1e9;
        }
        Arrays.sort(times);
        return times[steps / 2];
    }

    /**
     * max(bytes / read bandwidth, flops / GEMM rate) for {@code batch} sequences each computing {@code chunk} tokens
     * ending at {@code context}: every weight read once and the sequences' K/V once; the layers' matmuls on every
     * token, the LM head on one row per sequence, attention over each row's causal prefix. {@code chunk} = 1 gives
     * {@link Roofline}'s decode floor.
     */
    static double floorSeconds(ModelConfig c, MachineCeilings ceilings, int batch, int chunk, int context) {
        long bytes = Roofline.weightBytesPerStep(c) + (long) batch * context * c.kvBytesPerToken();
        double lmHead = (double) c.vocabSize() * c.hiddenSize();
        double layers = Roofline.weightElementsPerStep(c) - lmHead;
        double tokens = (double) batch * chunk;
        double keysPerSequence = (double) chunk * (context - chunk) + chunk * (chunk + 1) / 2.0;
        double flops = 2 * tokens * layers + 2.0 * batch * lmHead
                + 4.0 * batch * keysPerSequence * c.numHeads() * c.headDim() * c.numLayers();
        return Math.max(bytes / ceilings.readBytesPerSecond(), flops / ceilings.gemmFlopsPerSecond());
    }
}
