package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The startup log names the malloc actually mapped into the process, not the one the environment asked for. */
class NativeAllocatorTest {
    private static final String LIBC = "7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6";
    private static final String JEMALLOC = "7f1c2b000000-7f1c2b010000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    private static final String ANONYMOUS = "7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0";

    @Test
    void aMappedJemallocIsNamedWithItsPath() {
        assertEquals("jemalloc (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)",
                NativeAllocator.describe(List.of(ANONYMOUS, LIBC, JEMALLOC), Map.of("MALLOC_ARENA_MAX", "2")));
    }

    @Test
    void withoutAPreloadedAllocatorItIsGlibcWithTheArenaBound() {
        assertEquals("glibc malloc (MALLOC_ARENA_MAX=2)", NativeAllocator.describe(List.of(ANONYMOUS, LIBC), Map.of("MALLOC_ARENA_MAX", "2")));
    }

    @Test
    void plainGlibcSaysHowToGetJemalloc() {
        String described = NativeAllocator.describe(List.of(LIBC), Map.of());
        assertTrue(described.startsWith("glibc malloc") && described.contains("libjemalloc2"), described);
    }

    @Test
    void thisProcessIsDescribed() {
        String described = NativeAllocator.describe();
        assertTrue(described.startsWith("jemalloc") || described.startsWith("glibc") || described.startsWith("tcmalloc")
                || described.startsWith("the platform's"), described);
    }
}
