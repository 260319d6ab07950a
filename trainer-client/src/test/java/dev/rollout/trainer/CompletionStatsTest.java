package dev.rollout.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CompletionStatsTest {
    static final int EOS = 2;

    static Completion completion(FinishReason reason, int... ids) {
        Completion.Builder c = Completion.newBuilder().setFinishReason(reason).addPromptTokenIds(5);
        for (int id : ids) {
            c.addTokenIds(id).addLogprobs(-0.5f);
        }
        return c.build();
    }

    @Test
    void lengthsAndTheTerminatedTrioAreOverTheWholeGenerationBatch() {
        Map<String, Double> m = new LinkedHashMap<>();
        long tokens = CompletionStats.put(List.of(
                completion(FinishReason.FINISH_REASON_STOP, EOS),
                completion(FinishReason.FINISH_REASON_STOP, 7, 8, EOS),
                completion(FinishReason.FINISH_REASON_LENGTH, 7, 8, 9, 10)), Set.of(EOS), m);
        assertEquals(8, tokens);
        assertEquals(8.0 / 3, m.get("completions/mean_length"), 1e-12);
        assertEquals(1.0, m.get("completions/min_length"));
        assertEquals(4.0, m.get("completions/max_length"));
        assertEquals(1.0 / 3, m.get("completions/clipped_ratio"), 1e-12);
        assertEquals(2.0, m.get("completions/mean_terminated_length"));
        assertEquals(1.0, m.get("completions/min_terminated_length"));
        assertEquals(3.0, m.get("completions/max_terminated_length"));
    }

    @Test
    void clippedMeansTheLastIdIsNotEosWhateverTheFinishReason() {
        Map<String, Double> m = new LinkedHashMap<>();
        // cut at max_tokens right on EOS: terminated, as TRL counts it; stopped on a non-EOS stop id: truncated
        CompletionStats.put(List.of(completion(FinishReason.FINISH_REASON_LENGTH, 7, EOS),
                completion(FinishReason.FINISH_REASON_STOP, 7, 11)), Set.of(EOS), m);
        assertEquals(0.5, m.get("completions/clipped_ratio"));
        assertEquals(2.0, m.get("completions/mean_terminated_length"));
    }

    @Test
    void withNoTerminatedCompletionTheTerminatedLengthsAreZero() {
        Map<String, Double> m = new LinkedHashMap<>();
        CompletionStats.put(List.of(completion(FinishReason.FINISH_REASON_LENGTH, 7, 8)), Set.of(EOS), m);
        assertEquals(1.0, m.get("completions/clipped_ratio"));
        assertEquals(0.0, m.get("completions/mean_terminated_length"));
        assertEquals(0.0, m.get("completions/min_terminated_length"));
        assertEquals(0.0, m.get("completions/max_terminated_length"));
    }
}
