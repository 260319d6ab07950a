package dev.rollout.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewardTest {
    private static final int[] NO_IDS = new int[0];
    private final AccuracyReward accuracy = new AccuracyReward();

    @Test
    void accuracyComparesTheLastNumberWithTheAnswer() {
        Map<String, Object> row = Map.of("answer", "19");
        assertEquals(1.0, accuracy.score("12+7=", "12 plus 7 is 19", NO_IDS, row));
        assertEquals(0.0, accuracy.score("12+7=", "19, no wait, 18", NO_IDS, row));
        assertEquals(0.0, accuracy.score("12+7=", "no idea", NO_IDS, row));
    }

    @Test
    void accuracyComparesNumbersByValue() {
        assertEquals(1.0, accuracy.score("", "it is 19.0", NO_IDS, Map.of("answer", 19)));
        assertEquals(1.0, accuracy.score("", "about 1,250 apples", NO_IDS, Map.of("answer", "1250")));
        assertEquals(1.0, accuracy.score("", "-3", NO_IDS, Map.of("answer", "-3")));
    }

    @Test
    void accuracyReadsTheNumberAtTheEndOfAWrittenAnswer() {
        assertEquals(1.0, accuracy.score("", "so 72", NO_IDS, Map.of("answer", "48 + 24 = 72\n#### 72")));
    }

    @Test
    void accuracyCannotJudgeARowWithoutAnAnswer() {
        assertNull(accuracy.score("", "19", NO_IDS, Map.of()));
    }

    @Test
    void formatRequiresTheWholeCompletionToMatch() {
        FormatReward format = new FormatReward("^\\s*-?\\d+\\s*$");
        assertEquals(1.0, format.score("", " 42 ", NO_IDS, Map.of()));
        assertEquals(0.0, format.score("", "42 apples", NO_IDS, Map.of()));
    }

    @Test
    void badFormatPatternIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new FormatReward("(unclosed"));
    }

    @Test
    void lengthPeaksAtTheTargetAndFallsLinearly() {
        LengthReward length = new LengthReward(8);
        assertEquals(1.0, length.score("", "", new int[8], Map.of()));
        assertEquals(0.75, length.score("", "", new int[6], Map.of()));
        assertEquals(0.5, length.score("", "", new int[12], Map.of()));
        assertEquals(0.0, length.score("", "", new int[20], Map.of()));
    }

    @Test
    void rewardSetWeighsFunctionsAndSkipsNullScores() {
        RewardSet set = new RewardSet(List.of(accuracy, new LengthReward(2)), List.of(2.0, 0.5));
        List<ScoredCompletion> completions = List.of(
                new ScoredCompletion("p", "7", new int[2], Map.of("answer", "7")),   // 2·1 + 0.5·1
                new ScoredCompletion("p", "8", new int[1], Map.of("answer", "7")),   // 2·0 + 0.5·0.5
                new ScoredCompletion("p", "8", new int[3], Map.of()));               // accuracy null; 0.5·0.5
        RewardScores scores = set.score(completions);
        assertArrayEquals(new double[] {2.5, 0.25, 0.25}, scores.total(), 1e-12);
        assertTrue(Double.isNaN(scores.perFunction()[0][2]));
        assertEquals(0.5, scores.stats().get("rewards/accuracy/mean"), 1e-12, "the null score is left out of the mean");
        assertEquals((1.0 + 0.5 + 0.5) / 3, scores.stats().get("rewards/length/mean"), 1e-12);
        assertEquals(1.0, scores.stats().get("reward"), 1e-12);
        double std = Math.sqrt((1.5 * 1.5 + 0.75 * 0.75 + 0.75 * 0.75) / 2);
        assertEquals(std, scores.stats().get("reward_std"), 1e-12);
    }

    @Test
    void completionNoFunctionCouldJudgeHasANaNTotal() {
        RewardSet set = new RewardSet(List.of(accuracy), List.of(1.0));
        RewardScores scores = set.score(List.of(new ScoredCompletion("p", "1", NO_IDS, Map.of())));
        assertTrue(Double.isNaN(scores.total()[0]));
    }

    @Test
    void configNamesBuiltInFunctionsWithWeights() {
        TrainerConfig config = TrainerConfig.defaults(List.of("reward_funcs=[accuracy, format, length]",
                "reward_weights=[1.0, 0.2, 0.1]"));
        RewardSet set = RewardSet.fromConfig(config);
        assertEquals(List.of("accuracy", "format", "length"), set.names());
        RewardScores scores = set.score(List.of(new ScoredCompletion("p", "7", new int[8], Map.of("answer", "7"))));
        assertEquals(1.0 + 0.2 + 0.1, scores.total()[0], 1e-12);
    }

    @Test
    void unknownRewardFunctionIsAConfigError() {
        TrainerConfig config = TrainerConfig.defaults(List.of("reward_funcs=[accuracy, vibes]"));
        ConfigException e = assertThrows(ConfigException.class, () -> RewardSet.fromConfig(config));
        assertEquals("reward_funcs", e.key());
        assertTrue(e.getMessage().contains("vibes"));
    }
}
