package dev.rollout.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Which malloc serves libtorch's native buffers in this process, for the startup log. It decides the peak RSS more
 * than anything else here: glibc keeps the buffers libtorch frees in per-thread arenas (7.8 GB for a bench that peaks
 * at 2.3 GB with jemalloc, docs/benchmarks.md). The launchers and the images preload jemalloc; this says whether that
 * took, read from the libraries actually mapped rather than from the environment.
 */
public final class NativeAllocator {
    private static final Path MAPS = Path.of("/proc/self/maps");

    private NativeAllocator() {}

    /** E.g. "jemalloc (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)" or "glibc malloc (MALLOC_ARENA_MAX=2)". */
    public static String describe() {
        List<String> maps;
        try {
            maps = Files.readAllLines(MAPS);
        } catch (IOException | RuntimeException e) {
            return "the platform's malloc (" + MAPS + " is not readable, so which one is unknown)";
        }
        return describe(maps, System.getenv());
    }

    /** @param maps the lines of /proc/self/maps; @param env the process environment */
    static String describe(List<String> maps, Map<String, String> env) {
        for (String line : maps) {
            int slash = line.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String path = line.substring(slash).trim();
            String file = path.substring(path.lastIndexOf('/') + 1);
            if (file.startsWith("libjemalloc")) {
                return "jemalloc (" + path + ")";
            }
            if (file.startsWith("libtcmalloc")) {
                return "tcmalloc (" + path + ")";
            }
        }
        String arenas = env.get("MALLOC_ARENA_MAX");
        if (arenas != null) {
            return "glibc malloc (MALLOC_ARENA_MAX=" + arenas + ")";
        }
        return "glibc malloc (its per-thread arenas can hold gigabytes that libtorch freed; install libjemalloc2, which "
                + "the bin/ launchers then preload, or set MALLOC_ARENA_MAX=2)";
    }
}
