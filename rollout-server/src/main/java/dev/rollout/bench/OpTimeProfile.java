package dev.rollout.bench;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where some work's wall time goes, from libtorch's own profiler: every operator call is an interval in its trace. The
 * union of the intervals (nested calls such as {@code aten::matmul} over {@code aten::mm} counted once) is the time in
 * tensor math; the top-level intervals grouped by operator name say which operators it is. The rest of the wall time
 * is Java: building index arrays and contexts, JNI crossings, DJL's bookkeeping, freeing. The profiler records the
 * calling thread only, so profile work that runs on it. Its own per-op recording cost falls mostly between the
 * intervals, so the share outside is somewhat overstated; dispatch inside libtorch (the dispatcher, allocation)
 * counts as inside.
 *
 * @param insideShare share of the profiled wall time inside operators
 * @param topOpSeconds per call of the work, seconds in each top-level operator, largest first
 */
record OpTimeProfile(double insideShare, Map<String, Double> topOpSeconds) {

    static OpTimeProfile of(Runnable work, int calls) {
        Path trace = null;
        try {
            trace = Files.createTempFile("rollout-profile-", ".json");
            JniUtils.startProfile(false, false, false);
            long start = System.nanoTime();
            long wallNanos;
            try {
                for (int i = 0; i < calls; i++) {
                    work.run();
                }
            } finally {
                wallNanos = System.nanoTime() - start;
                JniUtils.stopProfile(trace.toString());
            }
            List<double[]> intervals = new ArrayList<>();
            List<String> names = new ArrayList<>();
            read(new ObjectMapper().readTree(trace.toFile()), intervals, names);
            return new OpTimeProfile(Math.min(1, unionMicros(intervals) * 1e3 / wallNanos),
                    topLevelSeconds(intervals, names, calls));
        } catch (IOException e) {
            throw new IllegalStateException("could not read libtorch's profiler trace: " + e.getMessage(), e);
        } finally {
            if (trace != null) {
                try {
                    Files.deleteIfExists(trace);
                } catch (IOException ignored) {
                    // a leftover temporary file is harmless
                }
            }
        }
    }

    /** The trace's complete events ({@code "ph": "X"}) as [start, end] microseconds, sorted by start, and their names. */
    static void read(JsonNode trace, List<double[]> intervals, List<String> names) {
        JsonNode events = trace.isArray() ? trace : trace.path("traceEvents");
        List<Map.Entry<double[], String>> all = new ArrayList<>();
        for (JsonNode e : events) {
            if (e.has("ts") && e.has("dur") && "X".equals(e.path("ph").asText("X"))) {
                double start = e.get("ts").asDouble();
                all.add(Map.entry(new double[] {start, start + e.get("dur").asDouble()}, e.path("name").asText("?")));
            }
        }
        all.sort(Comparator.comparingDouble(e -> e.getKey()[0]));
        for (Map.Entry<double[], String> e : all) {
            intervals.add(e.getKey());
            names.add(e.getValue());
        }
    }

    /** The length of the union of sorted intervals. */
    static double unionMicros(List<double[]> sorted) {
        double total = 0;
        double openStart = Double.NaN;
        double openEnd = Double.NaN;
        for (double[] i : sorted) {
            if (Double.isNaN(openStart) || i[0] > openEnd) {
                if (!Double.isNaN(openStart)) {
                    total += openEnd - openStart;
                }
                openStart = i[0];
                openEnd = i[1];
            } else {
                openEnd = Math.max(openEnd, i[1]);
            }
        }
        if (!Double.isNaN(openStart)) {
            total += openEnd - openStart;
        }
        return total;
    }

    /** Seconds per call in each operator called from Java (an interval not inside another), largest first. */
    static Map<String, Double> topLevelSeconds(List<double[]> sorted, List<String> names, int calls) {
        Map<String, Double> byName = new HashMap<>();
        double end = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < sorted.size(); i++) {
            double[] interval = sorted.get(i);
            if (interval[0] >= end) {
                byName.merge(names.get(i), (interval[1] - interval[0]) / 1e6 / calls, Double::sum);
                end = interval[1];
            }
        }
        Map<String, Double> ordered = new LinkedHashMap<>();
        byName.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .forEach(e -> ordered.put(e.getKey(), e.getValue()));
        return ordered;
    }
}
