package dev.rollout.trainer.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;

/** The bench's three files: {@code rl-bench.json} (the runs), {@code rl-bench.md} (a table) and {@code rl-bench.png}. */
public final class BenchReport {
    public static final String JSON = "rl-bench.json";
    public static final String MARKDOWN = "rl-bench.md";
    public static final String PNG = "rl-bench.png";

    /** What the report says about the setting, besides the runs. */
    public record Setting(String model, String workload, String pinning, double loadAverageStart, double loadAverageEnd,
                          double secondsPerRun, int warmupSteps) {}

    private BenchReport() {}

    public static void write(Path dir, Setting setting, List<BenchResult> runs) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", setting.model());
        json.put("workload", setting.workload());
        json.put("pinning", setting.pinning());
        json.put("load_average_start", setting.loadAverageStart());
        json.put("load_average_end", setting.loadAverageEnd());
        json.put("seconds_per_run", setting.secondsPerRun());
        json.put("warmup_steps", setting.warmupSteps());
        json.put("runs", runs);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(JSON).toFile(), json);
        Files.writeString(dir.resolve(MARKDOWN), markdown(setting, runs));
        plot(dir.resolve(PNG), runs);
    }

    static String markdown(Setting s, List<BenchResult> runs) {
        double sync = runs.stream().filter(r -> r.mode().equals("sync")).mapToDouble(BenchResult::stepsPerMinute)
                .findFirst().orElse(Double.NaN);
        StringBuilder b = new StringBuilder("# Trainer-in-the-loop benchmark\n\n");
        b.append("Model `").append(s.model()).append("`; ").append(s.workload()).append(".\n");
        b.append("Pinning: ").append(s.pinning()).append(". Each run: ").append(s.warmupSteps())
                .append(" warm-up step(s), then measured for ").append(fmt(s.secondsPerRun(), 0)).append(" s (the step in ")
                .append("progress at the deadline finishes).\n");
        b.append("Load average (1 min): ").append(fmt(s.loadAverageStart(), 2)).append(" at start, ")
                .append(fmt(s.loadAverageEnd(), 2)).append(" at end.\n\n");
        b.append("| run | mode | max_staleness | in-flight update | steps | steps/min | × sync | gen tok/s | trainer idle "
                + "| server idle | train s/step | push s/step | trainer CPU s/step | server CPU s/step | staleness max "
                + "| reward first → last | length mean / p50 / p90 / max |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (BenchResult r : runs) {
            LengthStats l = r.completionLength();
            b.append("| ").append(r.name()).append(" | ").append(r.mode()).append(" | ")
                    .append(r.mode().equals("sync") ? "-" : Integer.toString(r.maxStaleness())).append(" | ")
                    .append(r.mode().equals("sync") ? "-" : r.inflightWeightUpdate()).append(" | ")
                    .append(r.measuredSteps()).append(" | ").append(fmt(r.stepsPerMinute(), 2)).append(" | ")
                    .append(Double.isNaN(sync) ? "-" : fmt(r.stepsPerMinute() / sync, 2) + "×").append(" | ")
                    .append(fmt(r.generatedTokensPerSecond(), 0)).append(" | ")
                    .append(pct(r.trainerIdleFraction())).append(" | ").append(pct(r.serverIdleFraction())).append(" | ")
                    .append(fmt(r.trainSecondsPerStep(), 1)).append(" | ").append(fmt(r.syncSecondsPerStep(), 2)).append(" | ")
                    .append(fmt(r.trainerCpuSecondsPerStep(), 1)).append(" | ").append(fmt(r.serverCpuSecondsPerStep(), 1))
                    .append(" | ")
                    .append(fmt(r.stalenessMax(), 0)).append(" | ")
                    .append(fmt(r.rewardFirst(), 3)).append(" → ").append(fmt(r.rewardLast(), 3)).append(" | ")
                    .append(fmt(l.mean(), 1)).append(" / ").append(l.p50()).append(" / ").append(l.p90()).append(" / ")
                    .append(l.max()).append(" |\n");
        }
        return b.toString();
    }

    private static void plot(Path png, List<BenchResult> runs) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (BenchResult r : runs) {
            data.addValue(r.stepsPerMinute(), "steps/min", r.name());
        }
        JFreeChart chart = ChartFactory.createBarChart("Trainer-in-the-loop: steps per minute", "run", "steps/min", data,
                PlotOrientation.VERTICAL, false, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getCategoryPlot().setBackgroundPaint(Color.WHITE);
        chart.getCategoryPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 500);
    }

    private static String fmt(double v, int decimals) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }
}
