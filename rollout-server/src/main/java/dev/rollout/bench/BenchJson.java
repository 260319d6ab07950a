package dev.rollout.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code bench.json}: {@code scenarios} (comparison 1, as {@code generate()} does it) and
 * {@code equal_memory_scenarios} (comparison 2), each entry with {@code generations}, {@code speedup} and per scheduler
 * ({@code continuous}, {@code static}) {@code tokens_per_second}, {@code wall_seconds_mean}, {@code wall_seconds_std},
 * {@code peak_kv_bytes} and more; the settings, the machine's load and ceilings, the roofline, and {@code scaling}
 * ({@link ScalingJson}).
 */
final class BenchJson {
    static final int TOP_OPS = 10;
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private BenchJson() {}

    static void write(BenchResult r, Path file) throws IOException {
        MAPPER.writeValue(file.toFile(), toJson(r));
    }

    static ObjectNode toJson(BenchResult r) {
        ObjectNode root = MAPPER.createObjectNode();
        BenchSettings s = r.settings();
        root.put("model", r.modelName());
        root.put("parameters", r.parameters());
        ObjectNode settings = root.putObject("settings");
        settings.put("prompts", s.prompts());
        settings.put("max_tokens", s.maxTokens());
        settings.put("reps", s.reps());
        settings.put("seed", s.seed());
        settings.put("block_size", s.blockSize());
        settings.put("equal_memory_batch", s.equalMemoryBatch());
        ObjectNode machine = root.putObject("machine");
        machine.put("cores", r.cores());
        machine.put("load_average_before", r.loadBefore());
        machine.put("load_average_after", r.loadAfter());
        machine.put("peak_rss_per_run", r.peakRssPerRun());
        root.set("scenarios", scenarios(r.scenarios()));
        root.set("equal_memory_scenarios", scenarios(r.equalMemoryScenarios()));
        if (r.ceilings() != null) {
            ObjectNode c = root.putObject("ceilings");
            c.put("gemm_size", r.ceilings().gemmSize());
            c.put("gemm_flops_per_second", r.ceilings().gemmFlopsPerSecond());
            c.put("read_bytes_per_second", r.ceilings().readBytesPerSecond());
            c.put("copy_bytes_per_second", r.ceilings().copyBytesPerSecond());
            c.put("small_op_seconds", r.ceilings().smallOpSeconds());
            ObjectNode roof = root.putObject("roofline");
            roof.put("model", r.rooflineModelName());
            ArrayNode points = roof.putArray("decode");
            for (RooflinePoint p : r.roofline()) {
                ObjectNode o = points.addObject();
                o.put("batch", p.batch());
                o.put("context", p.context());
                o.put("engine_step_seconds", p.engineStepSeconds());
                o.put("model_step_seconds", p.modelStepSeconds());
                o.put("op_seconds", p.opSeconds());
                o.put("java_kernel_seconds", p.kernelSeconds());
                o.put("bytes_moved", p.bytesMoved());
                o.put("flops", p.flops());
                o.put("floor_seconds", p.floorSeconds());
                o.put("step_over_floor", p.stepOverFloor());
                o.put("outside_tensor_math_share", p.outsideTensorMathShare());
                o.put("tokens_per_second", p.tokensPerSecond());
                ObjectNode ops = o.putObject("top_op_seconds");
                p.topOpSeconds().entrySet().stream().limit(TOP_OPS).forEach(e -> ops.put(e.getKey(), e.getValue()));
            }
        }
        if (r.scaling() != null) {
            root.set("scaling", ScalingJson.toJson(r.scaling()));
        }
        return root;
    }

    private static ArrayNode scenarios(List<ScenarioResult> results) {
        ArrayNode list = MAPPER.createArrayNode();
        for (ScenarioResult sr : results) {
            ObjectNode o = list.addObject();
            o.put("generations", sr.generations());
            o.put("sequences", sr.sequences());
            o.put("prompt_tokens", sr.promptTokens());
            o.put("longest_prompt", sr.longestPrompt());
            o.put("speedup", sr.speedup());
            o.put("kv_ratio", sr.kvRatio());
            o.set("continuous", summary(sr.continuous()));
            o.set("static", summary(sr.staticBatch()));
        }
        return list;
    }

    private static ObjectNode summary(RunSummary s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("reps", s.reps());
        o.put("output_tokens", s.outputTokens());
        o.put("tokens_per_second", s.tokensPerSecond());
        o.put("wall_seconds_mean", s.wallSecondsMean());
        o.put("wall_seconds_std", s.wallSecondsStd());
        o.put("peak_kv_bytes", s.peakKvBytes());
        o.put("kv_cache_bytes", s.kvCacheBytes());
        o.put("peak_rss_bytes", s.peakRssBytes());
        o.put("prefix_cache_hit_tokens", s.prefixCacheHitTokens());
        o.put("computed_prompt_tokens", s.computedPromptTokens());
        o.put("preemptions", s.preemptions());
        o.put("steps", s.steps());
        return o;
    }
}
