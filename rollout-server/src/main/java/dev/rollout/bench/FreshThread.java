package dev.rollout.bench;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs tensor work on a new thread with grad mode off, as the engine runs its steps, so that the benchmark's own model
 * steps and the engine's are measured under the same threading. (In one experiment on the busy 2-core development
 * machine, a 30m decode step issued from the thread that had loaded libtorch and the model took 300-480 ms against
 * 23-26 ms from another thread; under heavier load later the gap did not reproduce cleanly. Fresh threads avoid the
 * question.)
 */
final class FreshThread {
    private FreshThread() {}

    static <T> T call(String name, Callable<T> work) {
        FutureTask<T> task = new FutureTask<>(() -> {
            // Loads libtorch if nothing has yet, so that grad mode can be set.
            Engine.getEngine("PyTorch");
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
