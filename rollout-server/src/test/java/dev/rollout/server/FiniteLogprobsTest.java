package dev.rollout.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.engine.CompletionResult;
import dev.rollout.engine.FinishReason;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** A completion with a non-finite log-prob is an INTERNAL error, never an OK answer. */
class FiniteLogprobsTest {
    private static CompletionResult withLogprobs(float... logprobs) {
        return new CompletionResult(1, 2, new int[] {5}, new int[logprobs.length], logprobs, FinishReason.LENGTH, 7,
                new long[logprobs.length], 0);
    }

    @Test
    void finiteLogprobsPass() {
        assertTrue(FiniteLogprobs.check(withLogprobs(-0.5f, 0f, -30f)).isOk());
    }

    @Test
    void aNaNLogprobIsInternalNamingTheCompletion() {
        Status status = FiniteLogprobs.check(withLogprobs(-0.5f, Float.NaN));
        assertEquals(Status.Code.INTERNAL, status.getCode());
        assertTrue(status.getDescription().contains("prompt 1, sample 2, token 1 with weight version 7"), status.getDescription());
    }

    @Test
    void anInfiniteLogprobIsInternal() {
        assertEquals(Status.Code.INTERNAL, FiniteLogprobs.check(withLogprobs(Float.NEGATIVE_INFINITY)).getCode());
    }
}
