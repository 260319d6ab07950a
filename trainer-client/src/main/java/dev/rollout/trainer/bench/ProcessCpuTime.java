package dev.rollout.trainer.bench;

import java.lang.management.ManagementFactory;

/**
 * CPU seconds a process has used since it started, all its threads together. On a machine that other work shares, a
 * side's wall time depends on how much of its core it got; its CPU time per step does not, so the bench reports both.
 */
final class ProcessCpuTime {
    private ProcessCpuTime() {
    }

    /** This JVM (the trainer). */
    static double self() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long nanos = os.getProcessCpuTime();
            return nanos < 0 ? Double.NaN : nanos / 1e9;
        }
        return Double.NaN;
    }

    /** The process {@code pid} (the server), or NaN when the system does not say. */
    static double of(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration()).map(d -> d.toNanos() / 1e9)
                .orElse(Double.NaN);
    }
}
