package dev.rollout.engine;

import java.util.List;

/** Stop conditions for tests of the scheduling policy alone: no EOS id, no context limit. */
final class TestStops {
    static final StopConditions NONE = new StopConditions(List.of(), Integer.MAX_VALUE);

    private TestStops() {}
}
