package dev.rollout.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident memory (Java heap and libtorch's native allocations alike) from {@code /proc/self/status}.
 * Linux keeps one high-water mark per process; writing 5 to {@code /proc/self/clear_refs} resets it to the current
 * RSS, so each run's peak is its own. Where that is not possible the peak covers the process's whole life, and
 * {@link #resettable()} says so.
 */
final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ProcessMemory() {}

    /** Resets the high-water mark to the current RSS; false when the system does not allow it. */
    static boolean resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    static boolean resettable() {
        return Files.isWritable(CLEAR_REFS);
    }

    /** VmHWM in bytes, or -1 where /proc is not there. */
    static long peakRssBytes() {
        return statusKilobytes("VmHWM:") * 1024;
    }

    private static long statusKilobytes(String key) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
