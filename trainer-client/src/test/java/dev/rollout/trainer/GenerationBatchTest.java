package dev.rollout.trainer;

import static dev.rollout.trainer.CompletionStatsTest.EOS;
import static dev.rollout.trainer.CompletionStatsTest.completion;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GenerationBatchTest {
    private final NDManager manager = NDManager.newBaseManager();
    private final TrainerConfig config = TrainerConfig.defaults(List.of("num_generations=2",
            "per_device_train_batch_size=2", "gradient_accumulation_steps=2", "mask_truncated_completions=true"));

    @AfterEach
    void close() {
        manager.close();
    }

    private List<Completion> four() {
        return List.of(completion(FinishReason.FINISH_REASON_STOP, 7, EOS),
                completion(FinishReason.FINISH_REASON_LENGTH, 7, 8, 9),
                completion(FinishReason.FINISH_REASON_STOP, EOS),
                completion(FinishReason.FINISH_REASON_LENGTH, 9, EOS));
    }

    @Test
    void theShuffleIsASeededPermutation() {
        int[] order = GenerationBatch.shuffledOrder(16, 42);
        int[] sorted = order.clone();
        Arrays.sort(sorted);
        int[] identity = new int[16];
        Arrays.setAll(identity, i -> i);
        assertArrayEquals(identity, sorted);
        assertArrayEquals(order, GenerationBatch.shuffledOrder(16, 42));
        assertFalse(Arrays.equals(order, GenerationBatch.shuffledOrder(16, 43)));
        assertFalse(Arrays.equals(order, identity));
    }

    @Test
    void microBatchesHoldTheCompletionsInTheShuffledOrderWithTheirAdvantages() {
        int[] order = {2, 0, 3, 1};
        try (GenerationBatch batch = new GenerationBatch(four(), order, Set.of(EOS), config, manager)) {
            assertEquals(2, batch.micro.size());
            assertArrayEquals(new int[] {2, 0}, batch.micro.get(0).indices);
            assertArrayEquals(new int[] {3, 1}, batch.micro.get(1).indices);
            assertArrayEquals(new int[] {9, EOS}, batch.micro.get(1).rows.get(0).completionIds());
            assertArrayEquals(new float[] {0.3f, 0.1f}, batch.micro.get(0).pick(new double[] {0.1, 0.2, 0.3, 0.4}));
        }
    }

    @Test
    void maskTruncatedCompletionsDropsThoseWhoseLastIdIsNotEos() {
        try (GenerationBatch batch = new GenerationBatch(four(), new int[] {0, 1, 2, 3}, Set.of(EOS), config, manager)) {
            // completion 1 has no EOS: masked; completion 3 was cut at max_tokens right on EOS: kept, as in TRL
            assertArrayEquals(new float[] {1, 1, 0, 0, 0, 0}, batch.micro.get(0).mask.toFloatArray());
            assertArrayEquals(new float[] {1, 0, 1, 1}, batch.micro.get(1).mask.toFloatArray());
            assertEquals(5, batch.activeTokens);
        }
    }

    @Test
    void aCompletionWhoseLogProbsDoNotMatchItsTokensIsAnErrorNamingIt() {
        Completion missing = completion(FinishReason.FINISH_REASON_STOP, 7, EOS).toBuilder()
                .setPromptIndex(1).setSampleIndex(1).clearLogprobs().addLogprobs(-0.5f).build();
        List<Completion> completions = List.of(four().get(0), four().get(1), four().get(2), missing);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new GenerationBatch(completions, new int[] {0, 1, 2, 3}, Set.of(EOS), config, manager));
        assertTrue(e.getMessage().contains("completion 3 (prompt 1, sample 1) has 1 log-probs for 2 tokens"),
                e.getMessage());
    }
}
