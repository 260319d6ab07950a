package dev.rollout.trainer.cli;

import java.io.PrintStream;
import java.util.Map;

/**
 * A one-line progress report per logged step: a bar, the step, reward, loss, generation tokens/s and the time left,
 * estimated from the mean step time so far (and from the time limit when one is set and is nearer).
 */
public final class ProgressLine {
    private static final int BAR = 24;
    private final PrintStream out;
    private final int maxSteps;
    private final long startNanos = System.nanoTime();
    private final long deadlineNanos; // 0: none

    public ProgressLine(PrintStream out, int maxSteps, double minutesLimit) {
        this.out = out;
        this.maxSteps = maxSteps;
        this.deadlineNanos = minutesLimit > 0 ? startNanos + (long) (minutesLimit * 60e9) : 0;
    }

    public String format(int step, Map<String, Double> m) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        double eta = step > 0 ? elapsed / step * Math.max(0, maxSteps - step) : Double.NaN;
        if (deadlineNanos != 0) {
            eta = Math.min(Double.isNaN(eta) ? Double.MAX_VALUE : eta, Math.max(0, (deadlineNanos - System.nanoTime()) / 1e9));
        }
        int filled = (int) Math.round(BAR * Math.min(1.0, (double) step / Math.max(1, maxSteps)));
        return String.format("[%s%s] step %d/%d  reward %.3f  loss %+.4f  %.0f tok/s  ETA %s",
                "#".repeat(filled), ".".repeat(BAR - filled), step, maxSteps,
                m.getOrDefault("reward", Double.NaN), m.getOrDefault("loss", Double.NaN),
                m.getOrDefault("tokens_per_second", Double.NaN), clock(eta))
                + (m.containsKey("staleness/max") ? String.format("  staleness %.2f (max %.0f)",
                        m.get("staleness/mean"), m.get("staleness/max")) : "");
    }

    public void print(int step, Map<String, Double> metrics) {
        out.println(format(step, metrics));
        out.flush();
    }

    static String clock(double seconds) {
        if (Double.isNaN(seconds) || seconds > 360000) {
            return "--:--";
        }
        long s = Math.round(seconds);
        return String.format("%d:%02d", s / 60, s % 60);
    }
}
