package dev.rollout.trainer.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The run's PNG: reward (per step and a moving average) above generation throughput, over training steps. */
public final class TrainingPlot {
    private TrainingPlot() {}

    public record Point(int step, double reward, double tokensPerSecond) {}

    public static void write(Path png, String title, List<Point> points) throws IOException {
        XYSeries reward = new XYSeries("reward");
        XYSeries smooth = new XYSeries("reward, moving mean of 10");
        XYSeries throughput = new XYSeries("generation tokens/s");
        double[] window = new double[10];
        int filled = 0;
        double sum = 0;
        for (Point p : points) {
            if (!Double.isNaN(p.reward())) {
                reward.add(p.step(), p.reward());
                int slot = filled % window.length;
                if (filled >= window.length) {
                    sum -= window[slot];
                }
                window[slot] = p.reward();
                sum += p.reward();
                filled++;
                smooth.add(p.step(), sum / Math.min(filled, window.length));
            }
            throughput.add(p.step(), p.tokensPerSecond());
        }
        XYSeriesCollection rewards = new XYSeriesCollection();
        rewards.addSeries(reward);
        rewards.addSeries(smooth);
        XYLineAndShapeRenderer rewardLines = new XYLineAndShapeRenderer(true, false);
        rewardLines.setSeriesPaint(0, new Color(120, 160, 220));
        rewardLines.setSeriesPaint(1, new Color(20, 60, 160));
        rewardLines.setSeriesStroke(1, new BasicStroke(2.5f));
        XYPlot top = new XYPlot(rewards, null, new NumberAxis("reward"), rewardLines);

        XYLineAndShapeRenderer throughputLine = new XYLineAndShapeRenderer(true, false);
        throughputLine.setSeriesPaint(0, new Color(200, 90, 40));
        XYPlot bottom = new XYPlot(new XYSeriesCollection(throughput), null, new NumberAxis("tokens/s"), throughputLine);

        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis("step"));
        plot.add(top, 2);
        plot.add(bottom, 1);
        for (XYPlot p : List.of(top, bottom)) {
            p.setBackgroundPaint(Color.WHITE);
            p.setRangeGridlinePaint(Color.LIGHT_GRAY);
            p.setDomainGridlinePaint(Color.LIGHT_GRAY);
        }
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
    }
}
