package dev.rollout.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@code scaling.png}: against the batch size (log scale), decode tokens/s, prefill tokens/s and step / floor, one
 * line per phase and context. Drawn headless.
 */
final class ScalingPlot {
    private static final Color[] COLORS = {new Color(0x1565C0), new Color(0xEF6C00), new Color(0x2E7D32), new Color(0x6A1B9A)};

    private ScalingPlot() {}

    static void write(ScalingTable t, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        LogAxis batches = new LogAxis("sequences in the batch");
        batches.setBase(2);
        batches.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(batches);
        plot.add(subplot(t, "decode tokens/s", ScalingBench.DECODE, ScalingCell::tokensPerSecond, false), 2);
        plot.add(subplot(t, "prefill tokens/s", ScalingBench.PREFILL, ScalingCell::tokensPerSecond, false), 2);
        XYPlot ratio = subplot(t, "step / floor", null, ScalingCell::stepOverFloor, true);
        plot.add(ratio, 2);
        // The last subplot has every series: one legend.
        plot.setFixedLegendItems(ratio.getLegendItems());
        JFreeChart chart = new JFreeChart(t.modelName() + ": how a step's cost grows with batch and context",
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 900);
    }

    /** One line per context of {@code phase}, or of both phases (decode solid, prefill dashed) when it is null. */
    private static XYPlot subplot(ScalingTable t, String label, String phase, ToDoubleFunction<ScalingCell> value,
            boolean bothPhases) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (String p : bothPhases ? new String[] {ScalingBench.DECODE, ScalingBench.PREFILL} : new String[] {phase}) {
            for (int i = 0; i < t.settings().contexts().size(); i++) {
                int context = t.settings().contexts().get(i);
                XYSeries series = new XYSeries(p + ", context " + context);
                for (ScalingCell c : t.phase(p)) {
                    if (c.context() == context && c.measured()) {
                        series.add(c.batch(), value.applyAsDouble(c));
                    }
                }
                int index = data.getSeriesCount();
                data.addSeries(series);
                renderer.setSeriesPaint(index, COLORS[i % COLORS.length]);
                renderer.setSeriesStroke(index, p.equals(ScalingBench.PREFILL) ? new BasicStroke(2f, BasicStroke.CAP_BUTT,
                        BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f) : new BasicStroke(2f));
            }
        }
        XYPlot sub = new XYPlot(data, null, new NumberAxis(label), renderer);
        sub.setBackgroundPaint(Color.WHITE);
        sub.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return sub;
    }
}
