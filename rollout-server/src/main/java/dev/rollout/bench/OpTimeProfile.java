package dev.rollout.bench;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How much of some work is spent inside libtorch operators, from libtorch's own profiler: every operator call is an
 * interval in its trace, and the union of those intervals (nested calls such as {@code aten::matmul} over
 * {@code aten::mm} counted once) is the time in tensor math. The rest of the wall time is Java: building index arrays
 * and contexts, JNI crossings, DJL's bookkeeping, freeing. The profiler records the calling thread only, so profile
 * work that runs on it. Its own per-op recording cost falls mostly between the intervals, so the share outside is
 * somewhat overstated; dispatch inside libtorch (the dispatcher, allocation) counts as inside.
 */
final class OpTimeProfile {
    private OpTimeProfile() {}

    /** The share of wall time inside tensor operators over {@code calls} profiled calls of {@code work}. */
    static double insideShare(Runnable work, int calls) {
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
            return Math.min(1, unionMicros(new ObjectMapper().readTree(trace.toFile())) * 1e3 / wallNanos);
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

    /** The length of the union of the trace's complete events ({@code "ph": "X"}), in microseconds. */
    static double unionMicros(JsonNode trace) {
        JsonNode events = trace.isArray() ? trace : trace.path("traceEvents");
        List<double[]> intervals = new ArrayList<>();
        for (JsonNode e : events) {
            if (e.has("ts") && e.has("dur") && "X".equals(e.path("ph").asText("X"))) {
                double start = e.get("ts").asDouble();
                intervals.add(new double[] {start, start + e.get("dur").asDouble()});
            }
        }
        intervals.sort(Comparator.comparingDouble(i -> i[0]));
        double total = 0;
        double openStart = Double.NaN;
        double openEnd = Double.NaN;
        for (double[] i : intervals) {
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
}
