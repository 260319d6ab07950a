package dev.rollout.bench;

import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs tensor work on a new thread with grad mode off, as the engine runs its steps. Measured on the development
 * machine (2 busy cores): a 30m decode step issued from the thread that loaded libtorch and the model took 300-480 ms,
 * the same step from any other thread 23-26 ms (with {@code OMP_NUM_THREADS=1} the gap nearly closed: 52 against 32
 * ms), so timings taken on the loading thread would measure that thread's intra-op threading, not the engine's.
 */
final class FreshThread {
    private FreshThread() {}

    static <T> T call(String name, Callable<T> work) {
        FutureTask<T> task = new FutureTask<>(() -> {
            JniUtils.setGradMode(false);
            return work.call();
        });
        Thread thread = new Thread(task, name);
        thread.start();
        try {
            return task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.interrupt();
            throw new IllegalStateException("interrupted while measuring " + name, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(name + " failed: " + e.getCause().getMessage(), e.getCause());
        }
    }
}
