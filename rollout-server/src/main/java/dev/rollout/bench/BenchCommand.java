package dev.rollout.bench;

import dev.rollout.model.AttentionBackend;
import dev.rollout.model.NativeAllocator;
import dev.rollout.model.Devices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout-server bench}: continuous against static batching on TRL's scenarios (8, 32, 64 generations per
 * prompt) in one process, plus this machine's ceilings, a decode roofline and the scaling table. Prints Markdown tables;
 * {@code --out DIR} also writes {@code DIR/bench.json}, {@code DIR/bench.md}, {@code DIR/bench.png} and
 * {@code DIR/scaling.png}. Subcommands: {@code batched} (the peer comparison's workload over gRPC) and
 * {@code checkpoint} (a random-weight checkpoint for it).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        subcommands = {BatchedBenchCommand.class, CheckpointCommand.class, Bf16GapCommand.class},
        description = "Benchmark continuous against static (generate()-style) batching on the same model in one process:"
                + " comparison 1 as generate() does it, comparison 2 at equal KV memory; then decode against the"
                + " machine's roofline; then the scaling table (decode and prefill tokens/s over batch sizes and contexts,"
                + " each against its floor).")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "30m", paramLabel = "tiny|30m|135m|DIR",
            description = "A preset with random weights or a checkpoint directory. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--seed", defaultValue = "0",
            description = "Seed of the preset's weights and of the workload. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--prompts", defaultValue = "8", description = "Prompts per scenario. Default: ${DEFAULT-VALUE}.")
    int prompts;

    @Option(names = "--generations", defaultValue = "8,32,64", split = ",",
            description = "Generations per prompt, one scenario each; 0 skips the scenarios. Default: ${DEFAULT-VALUE}.")
    List<Integer> generations;

    @Option(names = "--max-tokens", defaultValue = "128",
            description = "The completion-length cap; lengths are long-tailed below it. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--reps", defaultValue = "3", description = "Repetitions of each run. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Write bench.json, bench.md, bench.png (the scenarios) and scaling.png (the scaling table) here.")
    Path out;

    @Option(names = "--block-size", defaultValue = "16", description = "KV cache block size. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Option(names = "--equal-memory-batch", defaultValue = "32",
            description = "Comparison 2's KV budget: this many sequences at longest prompt + max tokens (static's batch)."
                    + " Default: ${DEFAULT-VALUE}.")
    int equalMemoryBatch;

    @Option(names = "--warmup", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "An untimed small run before each scenario (--no-warmup skips it). Default: on.")
    boolean warmup;

    @Option(names = "--roofline-model", defaultValue = "30m", paramLabel = "tiny|30m|135m|DIR",
            description = "Model of the roofline section. Default: ${DEFAULT-VALUE}.")
    String rooflineModel;

    @Option(names = "--roofline-batches", defaultValue = "1,8,32,64", split = ",",
            description = "Decode batch sizes of the roofline; 0 skips the roofline. Default: ${DEFAULT-VALUE}.")
    List<Integer> rooflineBatches;

    @Option(names = "--roofline-context", defaultValue = "192",
            description = "Tokens of context per sequence in the roofline's decode. Default: ${DEFAULT-VALUE}.")
    int rooflineContext;

    @Option(names = "--roofline-steps", defaultValue = "20",
            description = "Timed model steps per roofline batch size. Default: ${DEFAULT-VALUE}.")
    int rooflineSteps;

    @Option(names = "--scaling-batches", defaultValue = "1,8,32,64,128,256", split = ",",
            description = "Batch sizes of the scaling table (decode and prefill at each context, on --roofline-model);"
                    + " 0 skips the table. Default: ${DEFAULT-VALUE}.")
    List<Integer> scalingBatches;

    @Option(names = "--scaling-contexts", defaultValue = "256,1024,4096", split = ",",
            description = "Contexts (tokens per sequence) of the scaling table. Default: ${DEFAULT-VALUE}.")
    List<Integer> scalingContexts;

    @Option(names = "--scaling-steps", defaultValue = "" + ScalingSettings.DEFAULT_STEPS,
            description = "Timed model steps per scaling cell (the median is reported). Default: ${DEFAULT-VALUE}.")
    int scalingSteps;

    @Option(names = "--scaling-kv-limit-mib", defaultValue = "" + (ScalingSettings.DEFAULT_KV_LIMIT_BYTES >> 20),
            description = "Scaling cells whose KV cache would exceed this are skipped (and say so). Default: ${DEFAULT-VALUE}.")
    long scalingKvLimitMib;

    @Option(names = "--quick",
            description = "The scaling table's small grid (batches 1 and 8, contexts 64 and 256, 2 steps a cell: seconds on"
                    + " 30m) instead of --scaling-batches, --scaling-contexts and --scaling-steps.")
    boolean quick;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Where the models and KV caches live: auto picks the GPU when PyTorch sees one (the machine's "
                    + "ceilings are measured there too). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--attention-backend", defaultValue = "auto", paramLabel = "auto|java|tensor",
            description = "Paged attention of the engines, as serve's flag: java (Java SIMD over CPU memory), tensor "
                    + "(libtorch ops, what a GPU runs), auto (java where it can run). Default: ${DEFAULT-VALUE}.")
    String attentionBackend;

    @Option(names = "--gemm-size", defaultValue = "2048",
            description = "n of the n×n×n matmul that measures the GEMM ceiling. Default: ${DEFAULT-VALUE}.")
    int gemmSize;

    @Override
    public Integer call() throws Exception {
        List<Integer> batches = rooflineBatches.equals(List.of(0)) ? List.of() : rooflineBatches;
        List<Integer> scenarios = generations.equals(List.of(0)) ? List.of() : generations;
        ScalingSettings scaling = quick ? ScalingSettings.QUICK : new ScalingSettings(
                scalingBatches.equals(List.of(0)) ? List.of() : scalingBatches, scalingContexts, scalingSteps,
                scalingKvLimitMib << 20, ScalingSettings.DEFAULT_PREFILL_TOKEN_BUDGET);
        BenchSettings settings = new BenchSettings(model, seed, prompts, scenarios, maxTokens, reps, blockSize,
                equalMemoryBatch, warmup, rooflineModel, batches, rooflineContext, rooflineSteps, gemmSize,
                Devices.parse(device), AttentionBackend.parse(attentionBackend), scaling);
        // the allocator decides the peak RSS the bench reports
        System.err.println("native memory allocator: " + NativeAllocator.describe());
        BenchResult result = BenchRunner.run(settings, line -> System.err.println(line));
        String tables = BenchTables.markdown(result);
        System.out.println(tables);
        if (out != null) {
            Files.createDirectories(out);
            BenchJson.write(result, out.resolve("bench.json"));
            Files.writeString(out.resolve("bench.md"), tables);
            if (!result.scenarios().isEmpty()) {
                BenchPlot.write(result, out.resolve("bench.png"));
            }
            if (result.scaling() != null) {
                ScalingPlot.write(result.scaling(), out.resolve("scaling.png"));
            }
            System.err.println("wrote " + out.resolve("bench.json") + ", bench.md"
                    + (result.scenarios().isEmpty() ? "" : ", bench.png") + (result.scaling() == null ? "" : ", scaling.png"));
        }
        return 0;
    }

    /** Runs {@code bench} on its own (until it is registered as a subcommand of {@code rollout-server}). */
    public static void main(String[] args) {
        System.exit(new picocli.CommandLine(new BenchCommand()).execute(args));
    }
}
