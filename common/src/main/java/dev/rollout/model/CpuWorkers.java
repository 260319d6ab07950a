package dev.rollout.model;

import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import org.slf4j.LoggerFactory;

/**
 * The threads that the CPU kernels (the Java attention kernel, the native projection) split independent work over:
 * the calling thread and {@code threads() - 1} daemon workers. While the kernels run, libtorch's OpenMP threads wait
 * (asleep, with {@code OMP_WAIT_POLICY=PASSIVE}), so the cores are the kernels'. Work is split so that each item is
 * computed whole by one thread, with the same code whatever the split: results do not depend on the thread count.
 * The system property {@value #PROPERTY} sets the count (1: all on the caller); default, one per core.
 *
 * <p>A step hands its workers dozens of shares of tens to hundreds of microseconds each, and waking a parked thread
 * costs tens of microseconds (what makes libtorch's two OpenMP threads slower than one at one row). So after a share a
 * worker spins for up to {@link #SPIN_NANOS} waiting for the next, then parks, leaving the core to others between
 * steps. One set of workers serves every kernel, so that no two spinning threads compete for the second core.
 */
final class CpuWorkers {
    /** System property: threads of the CPU kernels, a positive integer. */
    static final String PROPERTY = "rollout.kernel.threads";
    static final long SPIN_NANOS = 200_000;

    private static final int THREADS = decide();
    private static final Worker[] WORKERS = startWorkers(THREADS - 1);

    private CpuWorkers() {}

    static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code share.accept(i)} for every {@code i} in {@code [0, shares)}, share 0 on the calling thread and the
     * others on the workers, and returns when all are done. {@code shares} must not exceed {@link #threads()}. A share's
     * exception is rethrown here once every share has finished. One caller at a time; a call from a worker runs every
     * share on that worker.
     */
    static void run(int shares, IntConsumer share) {
        if (shares < 1 || shares > THREADS) {
            throw new IllegalArgumentException("shares must be in [1, " + THREADS + "], got " + shares);
        }
        if (shares == 1 || Thread.currentThread() instanceof Worker) {
            for (int i = 0; i < shares; i++) {
                share.accept(i);
            }
            return;
        }
        synchronized (CpuWorkers.class) {
            for (int i = 1; i < shares; i++) {
                WORKERS[i - 1].submit(share, i);
            }
            RuntimeException failure = null;
            try {
                share.accept(0);
            } catch (RuntimeException e) {
                failure = e;
            }
            for (int i = 1; i < shares; i++) {
                Throwable t = WORKERS[i - 1].await();
                if (failure == null && t != null) {
                    failure = t instanceof RuntimeException r ? r : new IllegalStateException(t);
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    private static Worker[] startWorkers(int n) {
        Worker[] workers = new Worker[Math.max(0, n)];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            workers[i].start();
        }
        return workers;
    }

    /** One worker: a share at a time, handed over through two volatile fields. */
    private static final class Worker extends Thread {
        private volatile IntConsumer task;
        private volatile int index;
        private volatile Throwable failure;

        Worker() {
            super("rollout-cpu-kernel");
            setDaemon(true);
        }

        void submit(IntConsumer share, int i) {
            failure = null;
            index = i;
            task = share; // written last: the worker reads index and failure after it
            LockSupport.unpark(this);
        }

        /** Spins until the share is done; its exception, or null. */
        Throwable await() {
            while (task != null) {
                Thread.onSpinWait();
            }
            return failure;
        }

        @Override
        public void run() {
            while (true) {
                IntConsumer t = task;
                if (t == null) {
                    long start = System.nanoTime();
                    while ((t = task) == null && System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    }
                    if (t == null) {
                        LockSupport.park(this); // an unpark before this returns at once: no hand-over is lost
                        continue;
                    }
                }
                try {
                    t.accept(index);
                } catch (Throwable e) {
                    failure = e;
                }
                task = null; // written last: the caller reads failure after it
            }
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
