package dev.rollout.bench;

import java.util.List;

/**
 * Everything a benchmark run measured. {@code loadBefore}/{@code loadAfter}: the machine's 1-minute load average,
 * since the machine may be shared. {@code ceilings} and {@code roofline} are null/empty when the roofline and the scaling table were skipped, {@code scaling} null when the scaling table was.
 */
record BenchResult(BenchSettings settings, String modelName, long parameters, int cores, double loadBefore,
                   double loadAfter, boolean peakRssPerRun, MachineCeilings ceilings, String rooflineModelName,
                   List<RooflinePoint> roofline, List<ScenarioResult> scenarios, List<ScenarioResult> equalMemoryScenarios,
                   ScalingTable scaling) {}
