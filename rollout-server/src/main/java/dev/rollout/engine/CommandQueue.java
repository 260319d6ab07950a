package dev.rollout.engine;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What other threads ask of the engine thread (admit a request, cancel one, swap weights, reset the prefix cache),
 * run by that thread between two steps, so that no step ever sees engine state change under it.
 */
final class CommandQueue {
    private static final Logger LOG = LoggerFactory.getLogger(CommandQueue.class);

    private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final BooleanSupplier closed;
    private volatile Thread engineThread;

    CommandQueue(BooleanSupplier closed) {
        this.closed = closed;
    }

    void runOn(Thread thread) {
        this.engineThread = thread;
    }

    boolean onEngineThread() {
        return Thread.currentThread() == engineThread;
    }

    /** Queues a command; refused once the engine is closed. */
    void post(Runnable command) {
        if (closed.getAsBoolean()) {
            throw new IllegalStateException("the engine is closed");
        }
        queue.add(command);
    }

    /** Queues the engine's own stop, which must get through after close. */
    void postStop(Runnable command) {
        queue.add(command);
    }

    /** Runs {@code command} on the engine thread between steps and returns its result (at once on the engine thread). */
    <T> T call(Callable<T> command) {
        if (onEngineThread()) {
            try {
                return command.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        CompletableFuture<T> done = new CompletableFuture<>();
        post(() -> {
            try {
                done.complete(command.call());
            } catch (Exception | Error e) {
                done.completeExceptionally(e);
            }
        });
        try {
            return done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the engine", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Engine thread: runs every queued command, first waiting for one when {@code waitForOne} (the engine is idle). */
    void runPending(boolean waitForOne) throws InterruptedException {
        Runnable command = waitForOne ? queue.take() : queue.poll();
        while (command != null) {
            run(command);
            command = queue.poll();
        }
    }

    /** Engine thread, stopping: runs what is still queued (admissions then abort at once). */
    void runRemaining() {
        queue.forEach(this::run);
    }

    private void run(Runnable command) {
        try {
            command.run();
        } catch (RuntimeException e) {
            LOG.error("engine command failed", e);
        }
    }
}
