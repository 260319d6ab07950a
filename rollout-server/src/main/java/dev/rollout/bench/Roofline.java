package dev.rollout.bench;

import ai.djl.ndarray.NDManager;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.engine.EngineStats;
import dev.rollout.engine.GenerationRequest;
import dev.rollout.engine.RequestHandle;
import dev.rollout.engine.SamplingParams;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Decode steps against the machine's floor. For each batch size: the engine's steady-state decode step time
 * (batch distinct prompts, all decoding around {@code context} tokens), the model step alone (median), and the time
 * inside tensor operators, next to {@code max(bytes moved / bandwidth, flops / GEMM rate)}.
 *
 * <p>Bytes moved per step: every weight matrix the step multiplies by (all layers and the LM head; of the embedding
 * only the looked-up rows) plus the K/V the attention reads, {@code batch × context × kv bytes per token}. Flops:
 * {@code 2 × batch × (those weights' elements)} plus attention's {@code 4 × batch × context × heads × head_dim} per
 * layer.
 */
final class Roofline {
    /** Decode tokens per sequence around the measured window; the window is the middle of them. */
    private static final int DECODE_TOKENS = 48;
    private static final int WINDOW_START = 8;
    private static final int WINDOW_END = 40;

    private Roofline() {}

    static List<RooflinePoint> measure(CausalLM model, MachineCeilings ceilings, List<Integer> batches, int context,
            int modelSteps, AttentionBackend backend, Consumer<String> log) {
        List<RooflinePoint> points = new ArrayList<>();
        NDManager parent = model.weights().embed().getManager();
        // An untimed pass at the largest batch first. The first seconds of tensor work in a process run several times
        // slower (measured: a 30m decode step at batch 8 took 640 ms before an engine had run in the process, 43 ms
        // after; allocator and page-fault warm-up), and a short pass at batch 1 was not enough.
        int largest = batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
        engineDecodeStep(model, largest, context, backend);
        FreshThread.call("roofline warm-up", () -> modelStep(model, largest, context, 5, parent, backend));
        for (int batch : batches) {
            double engineStep = engineDecodeStep(model, batch, context, backend);
            ModelStep m = FreshThread.call("roofline", () -> modelStep(model, batch, context, modelSteps, parent, backend));
            long bytes = weightBytesPerStep(model.config()) + (long) batch * context * model.config().kvBytesPerToken();
            double flops = flopsPerStep(model.config(), batch, context);
            double floor = Math.max(bytes / ceilings.readBytesPerSecond(), flops / ceilings.gemmFlopsPerSecond());
            RooflinePoint p = new RooflinePoint(batch, context, engineStep, m.seconds(), m.opSeconds(), m.kernelSeconds(),
                    bytes, flops, floor, m.topOps());
            log.accept(String.format("  decode batch %d, context %d: engine step %.2f ms, model step %.2f ms, in ops %.2f ms,"
                    + " in the Java kernel %.2f ms, floor %.2f ms (%.1fx), outside tensor math %.0f%%", batch, context,
                    engineStep * 1e3, m.seconds() * 1e3, m.opSeconds() * 1e3, m.kernelSeconds() * 1e3, floor * 1e3,
                    p.stepOverFloor(), 100 * p.outsideTensorMathShare()));
            points.add(p);
        }
        return points;
    }

    /**
     * The model step's median wall time, and of it the time inside tensor operators: the profiled run's share of
     * wall time inside operators (both from the same run, so the machine's load at that moment cancels) applied to
     * the median step.
     */
    private record ModelStep(double seconds, double opSeconds, double kernelSeconds, Map<String, Double> topOps) {}

    private static ModelStep modelStep(CausalLM model, int batch, int context, int steps, NDManager parent,
            AttentionBackend backend) {
        try (DecodeHarness harness = new DecodeHarness(model, batch, context, 16, parent, backend)) {
            for (int i = 0; i < 3; i++) {
                harness.step();
            }
            double[] times = new double[steps];
            long kernelBefore = harness.kernelNanos();
            for (int i = 0; i < steps; i++) {
                long start = System.nanoTime();
                harness.step();
                times[i] = (System.nanoTime() - start) / 1e9;
            }
            double kernelPerStep = (harness.kernelNanos() - kernelBefore) / 1e9 / steps;
            Arrays.sort(times);
            double median = times[steps / 2];
            OpTimeProfile profile = OpTimeProfile.of(harness::step, Math.max(2, steps / 2));
            return new ModelStep(median, profile.insideShare() * median, kernelPerStep, profile.topOpSeconds());
        }
    }

    /** Elements of every weight a decode step multiplies by: the layers, the final norm and the LM head. */
    static long weightElementsPerStep(ModelConfig c) {
        long embed = (long) c.vocabSize() * c.hiddenSize();
        long all = c.parameterCount();
        // parameterCount counts a tied embedding once: the LM head reads it whole; untied, the input table is only indexed.
        return c.tieWordEmbeddings() ? all : all - embed;
    }

    static long weightBytesPerStep(ModelConfig c) {
        return 4 * weightElementsPerStep(c);
    }

    static double flopsPerStep(ModelConfig c, int batch, int context) {
        double matmuls = 2.0 * batch * weightElementsPerStep(c);
        double attention = 4.0 * batch * context * c.numHeads() * c.headDim() * c.numLayers();
        return matmuls + attention;
    }

    /**
     * Mean engine step over the window where every sequence is decoding: {@code batch} distinct prompts of
     * {@code context - WINDOW_END/2 ...} tokens so that the window's mean context is {@code context}.
     */
    static double engineDecodeStep(CausalLM model, int batch, int context, AttentionBackend backend) {
        int promptLength = Math.max(1, context - (WINDOW_START + WINDOW_END) / 2);
        SplittableRandom rng = new SplittableRandom(batch);
        List<int[]> prompts = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            prompts.add(rng.ints(promptLength, 1, Math.min(512, model.config().vocabSize())).toArray());
        }
        int blocksPerSequence = (promptLength + DECODE_TOKENS + 15) / 16;
        EngineConfig config = EngineConfig.defaults().withNumBlocks(batch * blocksPerSequence + 1).withMaxNumSeqs(batch)
                .withAttentionBackend(backend);
        try (Engine engine = new Engine(model, config, null)) {
            RequestHandle handle = engine.submit(new GenerationRequest("roofline", prompts,
                    SamplingParams.defaults(DECODE_TOKENS).withIgnoreEos(true).withSeed(7L)));
            EngineStats begin = waitForGenerated(engine, (long) batch * WINDOW_START);
            long start = System.nanoTime();
            EngineStats end = waitForGenerated(engine, (long) batch * WINDOW_END);
            long elapsed = System.nanoTime() - start;
            handle.result().get(10, TimeUnit.MINUTES);
            return elapsed / 1e9 / Math.max(1, end.steps() - begin.steps());
        } catch (Exception e) {
            throw new IllegalStateException("the roofline's engine run failed: " + e.getMessage(), e);
        }
    }

    private static EngineStats waitForGenerated(Engine engine, long tokens) {
        EngineStats s = engine.stats();
        while (s.generatedTokens() < tokens) {
            // Coarse polling: a tight loop would take CPU from the engine it measures (2 cores here).
            LockSupport.parkNanos(2_000_000);
            s = engine.stats();
        }
        return s;
    }
}
