package dev.rollout.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CompletionMaskTest {
    private final NDManager manager = NDManager.newBaseManager();

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void eachRowCoversItsCompletionTokens() {
        NDArray mask = CompletionMask.build(manager, new int[] {2, 4, 0}, new boolean[] {false, true, false}, 4, false);
        assertArrayEquals(new float[] {1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}, mask.toFloatArray());
        assertEquals(6.0, CompletionMask.activeTokens(mask));
    }

    @Test
    void maskTruncatedCompletionsDropsCompletionsThatHitTheLengthLimit() {
        NDArray mask = CompletionMask.build(manager, new int[] {2, 4}, new boolean[] {false, true}, 4, true);
        assertArrayEquals(new float[] {1, 1, 0, 0, 0, 0, 0, 0}, mask.toFloatArray());
        assertEquals(2.0, CompletionMask.activeTokens(mask));
    }

    @Test
    void lengthBeyondTheWidthIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> CompletionMask.build(manager, new int[] {5}, new boolean[] {false}, 4, false));
    }
}
