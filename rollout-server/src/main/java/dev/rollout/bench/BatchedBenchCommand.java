package dev.rollout.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.WeightsDtype;
import dev.rollout.model.Devices;
import dev.rollout.model.TorchThreads;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rollout-server bench batched}: llama.cpp's {@code llama-batched-bench} workload through our gRPC API, the
 * measurement of the peer comparison in docs/benchmarks.md.
 */
@Command(name = "batched", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "For each N: one GenerateBatch of N sequences (distinct prompts of --prompt-tokens token ids,"
                + " greedy, ignore_eos, --max-tokens each) to a server started in this process on loopback; prints"
                + " output tokens / wall time (prefill included), as llama-batched-bench -npp P -ntg G -npl N measures.")
public final class BatchedBenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "30m", paramLabel = "tiny|30m|135m|DIR",
            description = "A preset with random weights or a checkpoint directory. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--seed", defaultValue = "0",
            description = "Seed of a preset's weights and of the prompts. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--sequences", defaultValue = "1,8,32,64", split = ",", paramLabel = "N[,N...]",
            description = "Sequences per GenerateBatch, one measurement each, in this order. Default: ${DEFAULT-VALUE}.")
    List<Integer> sequences;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--max-tokens", defaultValue = "128", description = "Generated tokens per sequence. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--reps", defaultValue = "1",
            description = "Repetitions of the whole list; the median wall time is reported. Default: ${DEFAULT-VALUE}.")
    int reps;

    @Option(names = "--warmup", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Untimed calls first, one per N at full length; --no-warmup skips them. Default: on.")
    boolean warmup;

    @Option(names = "--block-size", defaultValue = "16", description = "KV cache block size. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Where the model and KV cache live. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--attention-backend", defaultValue = "auto", paramLabel = "auto|java|tensor",
            description = "Paged attention, as serve's flag. Default: ${DEFAULT-VALUE}.")
    String attentionBackend;

    @Option(names = "--weights-dtype", defaultValue = "fp32", paramLabel = "fp32|bf16",
            description = "Weights precision, as serve's flag. Default: ${DEFAULT-VALUE}.")
    String weightsDtype;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the results as JSON to this file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        BatchedBench.Settings s = new BatchedBench.Settings(model, seed, sequences, promptTokens, maxTokens, reps, warmup,
                blockSize, Devices.parse(device), AttentionBackend.parse(attentionBackend), WeightsDtype.parse(weightsDtype));
        int threads = TorchThreads.configure();
        double loadBefore = load();
        List<BatchedBench.Point> points = BatchedBench.run(s, line -> System.err.println(line));
        double loadAfter = load();
        System.out.println(markdown(s, points, threads, loadBefore, loadAfter));
        if (out != null) {
            Path parent = out.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(),
                    json(s, points, threads, loadBefore, loadAfter));
            System.err.println("wrote " + out);
        }
        return 0;
    }

    static String markdown(BatchedBench.Settings s, List<BatchedBench.Point> points, int threads, double loadBefore,
            double loadAfter) {
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "Model `%s`, %d prompt + %d generated tokens per"
                + " sequence, greedy, ignore_eos, one GenerateBatch per row, %s weights, %d libtorch thread(s), median of %d,"
                + " load average %.2f before / %.2f after.%n%n", s.model(), s.promptTokens(), s.maxTokens(), s.weightsDtype(), threads,
                s.reps(), loadBefore, loadAfter));
        md.append("| Sequences | Output tokens | Wall (s) | Output tok/s |\n|---:|---:|---:|---:|\n");
        for (BatchedBench.Point p : points) {
            md.append(String.format(Locale.ROOT, "| %d | %d | %.3f | %.1f |%n", p.sequences(), p.outputTokens(),
                    p.medianWallSeconds(), p.tokensPerSecond()));
        }
        return md.toString();
    }

    static ObjectNode json(BatchedBench.Settings s, List<BatchedBench.Point> points, int threads, double loadBefore,
            double loadAfter) {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("model", s.model());
        root.put("prompt_tokens", s.promptTokens());
        root.put("max_tokens", s.maxTokens());
        root.put("reps", s.reps());
        root.put("weights_dtype", s.weightsDtype().toString());
        root.put("torch_threads", threads);
        root.put("load_average_before", loadBefore);
        root.put("load_average_after", loadAfter);
        ArrayNode rows = root.putArray("points");
        for (BatchedBench.Point p : points) {
            ObjectNode o = rows.addObject();
            o.put("sequences", p.sequences());
            o.put("output_tokens", p.outputTokens());
            o.put("wall_seconds", p.medianWallSeconds());
            ArrayNode all = o.putArray("wall_seconds_each");
            p.wallSeconds().forEach(all::add);
            o.put("output_tokens_per_second", p.tokensPerSecond());
        }
        return root;
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
