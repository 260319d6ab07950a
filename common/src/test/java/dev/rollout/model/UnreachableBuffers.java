package dev.rollout.model;

/** For tests of memory that autograd must keep alive: frees what the JVM no longer reaches, as a GC would. */
public final class UnreachableBuffers {
    private UnreachableBuffers() {
    }

    /** Collects garbage and gives the reference handler time to free the direct buffers that became unreachable. */
    public static void free() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }
}
