package dev.rollout.engine;

import ai.djl.pytorch.jni.JniUtils;

/**
 * libtorch's intra-op thread count for each engine step on the CPU: one thread for a step of at most
 * {@link #SINGLE_THREAD_ROWS} rows, the process's count ({@code TorchThreads}) otherwise.
 *
 * <p>At one row the projections run on the native kernel ({@code NativeProjection}) and what is left for libtorch
 * is a few dozen small ops (views, indexing, the rotary embedding), each of which with two threads wakes the second
 * OpenMP thread (asleep under {@code OMP_WAIT_POLICY=PASSIVE}) for less work than the wake-up costs: one sequence
 * decoded 1.07-1.20x faster with one thread for one-row steps (docs/benchmarks.md). From a few rows up the split
 * pays. The count is set on the engine's own thread (OpenMP keeps it per thread) and only when it changes, so a
 * steady batch costs nothing.
 */
final class StepThreads {
    /** Steps of up to this many rows (tokens, prefill included) run libtorch's ops on one thread. */
    static final int SINGLE_THREAD_ROWS = 1;

    private final int configured;
    private int current;

    /** {@code configured}: the process's libtorch thread count, the one larger steps use. */
    StepThreads(int configured) {
        if (configured < 1) {
            throw new IllegalArgumentException("thread count must be positive, got " + configured);
        }
        this.configured = configured;
        this.current = configured;
    }

    /** The count a step of {@code rows} rows runs with. */
    int forRows(int rows) {
        return rows <= SINGLE_THREAD_ROWS ? 1 : configured;
    }

    /** Sets libtorch's count for a step of {@code rows} rows, if it differs from the last step's. */
    void apply(int rows) {
        int want = forRows(rows);
        if (want != current) {
            JniUtils.setNumThreads(want);
            current = want;
        }
    }
}
