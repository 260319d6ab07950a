package dev.rollout.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainCategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * {@code bench.png}: output tokens/s (top) and peak KV-cache MiB (bottom) per generations-per-prompt, static and
 * continuous, for both comparisons. Drawn headless.
 */
final class BenchPlot {
    private static final Color[] COLORS = {
        new Color(0x9E9E9E), new Color(0x1565C0), new Color(0xD7CCC8), new Color(0x64B5F6)};

    private BenchPlot() {}

    static void write(BenchResult r, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CombinedDomainCategoryPlot plot = new CombinedDomainCategoryPlot(new CategoryAxis("generations per prompt"));
        CategoryPlot throughput = subplot(r, "output tokens/s", RunSummary::tokensPerSecond);
        plot.add(throughput, 3);
        plot.add(subplot(r, "peak KV cache (MiB)", s -> s.peakKvBytes() / 1048576.0), 2);
        // Both subplots have the same four series: one legend.
        plot.setFixedLegendItems(throughput.getLegendItems());
        JFreeChart chart = new JFreeChart(String.format("%s: continuous vs static batching (max %d new tokens)",
                r.modelName(), r.settings().maxTokens()), JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 700);
    }

    private static CategoryPlot subplot(BenchResult r, String label, ToDoubleFunction<RunSummary> value) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        add(data, r.scenarios(), "static (one batch)", "continuous", value);
        add(data, r.equalMemoryScenarios(), "static (equal memory)", "continuous (equal memory)", value);
        BarRenderer renderer = new BarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        for (int i = 0; i < COLORS.length; i++) {
            renderer.setSeriesPaint(i, COLORS[i]);
        }
        CategoryPlot p = new CategoryPlot(data, null, new NumberAxis(label), renderer);
        p.setBackgroundPaint(Color.WHITE);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return p;
    }

    private static void add(DefaultCategoryDataset data, List<ScenarioResult> results, String staticSeries,
            String continuousSeries, ToDoubleFunction<RunSummary> value) {
        for (ScenarioResult sr : results) {
            String category = Integer.toString(sr.generations());
            data.addValue(value.applyAsDouble(sr.staticBatch()), staticSeries, category);
            data.addValue(value.applyAsDouble(sr.continuous()), continuousSeries, category);
        }
    }
}
