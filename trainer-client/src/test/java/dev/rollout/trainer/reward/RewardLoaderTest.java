package dev.rollout.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.trainer.config.ConfigException;
import dev.rollout.trainer.config.TrainerConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** reward_funcs entries that name Java classes: loading, constructor arguments, names and failures. */
class RewardLoaderTest {
    private static final String CONSTANT = LoaderFixtures.PREFIX + "Constant";
    private static final String FAILS_ON_BAD = LoaderFixtures.PREFIX + "FailsOnBad";

    private static RewardSet load(String yaml) {
        return RewardSet.fromConfig(TrainerConfig.parse(yaml, List.of()));
    }

    private static List<ScoredCompletion> completions(String... texts) {
        return java.util.Arrays.stream(texts).map(t -> new ScoredCompletion("p", t, new int[] {1, 2}, Map.of())).toList();
    }

    @Test
    void aClassIsConstructedWithItsRewardKwargs() {
        RewardSet set = load("reward_funcs: [" + CONSTANT + "]\nreward_kwargs:\n  " + CONSTANT + ": {value: 0.25}\n");
        assertArrayEquals(new double[] {0.25, 0.25}, set.score(completions("a", "b")).total());
    }

    @Test
    void aClassWithAMapConstructorGetsAnEmptyMapWithoutKwargs() {
        RewardSet set = load("reward_funcs: [" + CONSTANT + "]");
        assertArrayEquals(new double[] {1.0}, set.score(completions("a")).total());
    }

    @Test
    void aClassWithoutAMapConstructorIsMadeWithItsNoArgumentConstructor() {
        RewardSet set = load("reward_funcs: [" + LoaderFixtures.PREFIX + "NoArguments]");
        assertArrayEquals(new double[] {0.5}, set.score(completions("a")).total());
    }

    @Test
    void kwargsForAClassWithoutAMapConstructorAreAnError() {
        String entry = LoaderFixtures.PREFIX + "NoArguments";
        ConfigException e = assertThrows(ConfigException.class,
                () -> load("reward_funcs: [" + entry + "]\nreward_kwargs: {" + entry + ": {x: 1}}"));
        assertEquals("reward_kwargs", e.key());
        assertTrue(e.getMessage().contains(entry) && e.getMessage().contains("Map<String, Object>"), e.getMessage());
    }

    @Test
    void aMissingClassIsAnErrorNamingTheEntry() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("reward_funcs: [com.example.Missing]"));
        assertEquals("reward_funcs", e.key());
        assertTrue(e.getMessage().contains("'com.example.Missing'") && e.getMessage().contains("no such class"),
                e.getMessage());
    }

    @Test
    void aClassThatIsNotARewardIsAnErrorNamingTheInterface() {
        String entry = LoaderFixtures.PREFIX + "NotAReward";
        ConfigException e = assertThrows(ConfigException.class, () -> load("reward_funcs: [" + entry + "]"));
        assertTrue(e.getMessage().contains(entry) && e.getMessage().contains(RewardFunction.class.getName()), e.getMessage());
    }

    @Test
    void aConstructorThatThrowsIsAnErrorNamingTheEntryAndTheCause() {
        String entry = LoaderFixtures.PREFIX + "ThrowsInConstructor";
        ConfigException e = assertThrows(ConfigException.class, () -> load("reward_funcs: [" + entry + "]"));
        assertTrue(e.getMessage().contains(entry) && e.getMessage().contains("IllegalStateException: no model file"),
                e.getMessage());
    }

    @Test
    void theMetricNameIsTheClassesNameUnlessRewardNamesGivesOne() {
        assertEquals(List.of("Constant", "my_reward"),
                load("reward_funcs: [" + CONSTANT + ", " + LoaderFixtures.PREFIX + "Named]").names());
        assertEquals(List.of("const", "named"), load("reward_funcs: [" + CONSTANT + ", " + LoaderFixtures.PREFIX
                + "Named]\nreward_names: [const, named]").names());
        Map<String, Double> stats = load("reward_funcs: [" + CONSTANT + "]\nreward_names: [c]").score(completions("a")).stats();
        assertEquals(1.0, stats.get("rewards/c/mean"));
    }

    @Test
    void twoRewardsWithTheSameNameAreAnErrorPointingAtRewardNames() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> load("reward_funcs: [" + CONSTANT + ", " + CONSTANT + "]"));
        assertTrue(e.getMessage().contains("reward_names"), e.getMessage());
    }

    @Test
    void aRewardThatThrowsFailsTheStepNamingTheEntryAndTheCompletion() {
        RewardSet set = load("reward_funcs: [" + FAILS_ON_BAD + "]");
        RewardException e = assertThrows(RewardException.class, () -> set.score(completions("a", "a", "bad")));
        assertTrue(e.getMessage().contains(FAILS_ON_BAD) && e.getMessage().contains("completion 2")
                && e.getMessage().contains("cannot score 'bad'"), e.getMessage());
    }

    @Test
    void withRewardErrorsNanAFailureScoresNaNAndIsCounted() {
        RewardSet set = load("reward_funcs: [" + FAILS_ON_BAD + ", " + CONSTANT + "]\nreward_errors: nan");
        RewardScores scores = set.score(completions("bad", "a", "bad"));
        assertTrue(Double.isNaN(scores.perFunction()[0][0]) && Double.isNaN(scores.perFunction()[0][2]));
        assertEquals(1.0, scores.perFunction()[0][1]);
        assertArrayEquals(new double[] {1.0, 2.0, 1.0}, scores.total(), "the other reward still counts");
        assertEquals(2.0, scores.stats().get("rewards/FailsOnBad/errors"));
        assertEquals(0.0, scores.stats().get("rewards/Constant/errors"));
    }

    @Test
    void errorCountsAreNotLoggedWhenErrorsRaise() {
        assertFalse(load("reward_funcs: [" + CONSTANT + "]").score(completions("a")).stats().containsKey("rewards/Constant/errors"));
    }

    @Test
    void anInfiniteRewardIsAnError() {
        RewardSet set = load("reward_funcs: [" + LoaderFixtures.PREFIX + "Infinite]");
        RewardException e = assertThrows(RewardException.class, () -> set.score(completions("a")));
        assertTrue(e.getMessage().contains("Infinity"), e.getMessage());
    }

    @Test
    void kwargsForAnEntryNotInRewardFuncsAreAnError() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainerConfig.parse(
                "reward_funcs: [accuracy]\nreward_kwargs: {com.example.Other: {x: 1}}", List.of()));
        assertEquals("reward_kwargs", e.key());
        assertTrue(e.getMessage().contains("com.example.Other"), e.getMessage());
    }

    @Test
    void kwargsForABuiltInRewardAreAnError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> load("reward_funcs: [accuracy]\nreward_kwargs: {accuracy: {x: 1}}"));
        assertEquals("reward_kwargs", e.key());
    }

    @Test
    void rewardNamesNeedOneNamePerFunction() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("reward_funcs: [accuracy, format]\nreward_names: [a]", List.of()));
        assertEquals("reward_names", e.key());
    }

    @Test
    void aRewardClasspathEntryThatDoesNotExistIsAnError() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("reward_funcs: [com.example.LengthParity]\n"
                + "reward_classpath: [/nonexistent/rewards.jar]"));
        assertEquals("reward_classpath", e.key());
        assertTrue(e.getMessage().contains("/nonexistent/rewards.jar"), e.getMessage());
    }

    @Test
    void kwargsCanBeGivenOnTheCommandLine() {
        TrainerConfig config = TrainerConfig.parse("reward_funcs: [" + CONSTANT + "]",
                List.of("reward_kwargs={" + CONSTANT + ": {value: 3}}"));
        assertEquals(Map.of(CONSTANT, Map.of("value", 3)), config.rewardKwargs());
    }
}
