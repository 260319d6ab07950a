package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.junit.jupiter.api.Test;

/** One-row steps run libtorch on one thread, larger ones on the process's count, set on the calling thread. */
class StepThreadsTest {
    @Test
    void oneRowStepsUseOneThreadAndLargerStepsTheConfiguredCount() {
        StepThreads threads = new StepThreads(2);
        assertEquals(1, threads.forRows(1));
        assertEquals(2, threads.forRows(2));
        assertEquals(2, threads.forRows(128));
        assertEquals(1, new StepThreads(1).forRows(64), "a process on one thread stays on one thread");
    }

    @Test
    void applySetsLibtorchsCountOnTheCallingThreadAsTheStepsChange() throws Exception {
        Engine.getEngine("PyTorch");
        // a thread of its own, so that the count of the test runner's thread is left as it was
        Thread t = new Thread(() -> {
            JniUtils.setNumThreads(2);
            StepThreads threads = new StepThreads(2);
            threads.apply(1);
            assertEquals(1, JniUtils.getNumThreads(), "a one-row step");
            threads.apply(1);
            assertEquals(1, JniUtils.getNumThreads());
            threads.apply(32);
            assertEquals(2, JniUtils.getNumThreads(), "back to the configured count");
        });
        Throwable[] failure = new Throwable[1];
        t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
        t.start();
        t.join();
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
    }

    @Test
    void refusesANonPositiveCount() {
        assertThrows(IllegalArgumentException.class, () -> new StepThreads(0));
    }
}
