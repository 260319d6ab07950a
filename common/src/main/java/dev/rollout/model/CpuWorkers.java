package dev.rollout.model;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;
import org.slf4j.LoggerFactory;

/**
 * The threads that the CPU kernels split independent work over: the calling thread and {@code threads() - 1} daemon
 * threads. While Java kernels run, libtorch's OpenMP threads wait (asleep, with {@code OMP_WAIT_POLICY=PASSIVE}), so
 * the cores are the kernels'. Work is split so that each item is computed whole by one thread, with the same code
 * whatever the split: results do not depend on the thread count. The system property {@value #PROPERTY} sets the
 * count (1: all on the caller); default, one per core.
 */
final class CpuWorkers {
    /** System property: threads of the CPU kernels, a positive integer. */
    static final String PROPERTY = "rollout.kernel.threads";

    private static final int THREADS = decide();
    private static final ExecutorService POOL = THREADS > 1 ? Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "rollout-cpu-kernel");
        t.setDaemon(true);
        return t;
    }) : null;

    private CpuWorkers() {}

    static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code share.accept(i)} for every {@code i} in {@code [0, shares)}, share 0 on the calling thread and the
     * others on the pool, and returns when all are done. {@code shares} must not exceed {@link #threads()}. A share's
     * exception is rethrown here once every share has finished.
     */
    static void run(int shares, IntConsumer share) {
        if (shares < 1 || shares > THREADS) {
            throw new IllegalArgumentException("shares must be in [1, " + THREADS + "], got " + shares);
        }
        List<Future<?>> others = new ArrayList<>(shares - 1);
        for (int i = 1; i < shares; i++) {
            int index = i;
            others.add(POOL.submit(() -> share.accept(index)));
        }
        RuntimeException failure = null;
        try {
            share.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = new IllegalStateException("interrupted while waiting for a CPU kernel's threads", e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static int decide() {
        int cores = Runtime.getRuntime().availableProcessors();
        String set = System.getProperty(PROPERTY);
        if (set == null) {
            return cores;
        }
        try {
            int n = Integer.parseInt(set.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        // read once, at first use, deep inside a step: a warning, not a failed step
        LoggerFactory.getLogger(CpuWorkers.class).warn("{} must be a positive integer, got '{}'; using {} (the cores)",
                PROPERTY, set, cores);
        return cores;
    }
}
