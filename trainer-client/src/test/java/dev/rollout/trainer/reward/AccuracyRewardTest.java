package dev.rollout.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The accuracy reward on the answers TRL's accuracy_reward (math_verify) is built for, one case a row. */
class AccuracyRewardTest {
    private final AccuracyReward accuracy = new AccuracyReward();

    @ParameterizedTest(name = "{0} vs {1} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            # completion                              | solution                | reward
            \\boxed{\\frac{63}{400}}                    | \\frac{63}{400}          | 1.0
            \\boxed{\\frac{63}{400}}                    | 63/400                  | 1.0
            \\boxed{\\frac{64}{400}}                    | \\frac{63}{400}          | 0.0
            \\boxed{3}                                 | 6                       | 0.0
            The answer is \\boxed{0.1575}              | \\frac{63}{400}          | 1.0
            so \\boxed{\\dfrac{1}{2}}                   | 0.5                     | 1.0
            \\boxed{\\tfrac{2}{4}}                      | \\frac{1}{2}             | 1.0
            \\boxed{\\frac12}                           | 1/2                     | 1.0
            \\boxed{-\\frac{3}{4}}                      | -0.75                   | 1.0
            \\boxed{\\frac{-3}{4}}                      | -\\frac{3}{4}            | 1.0
            The final answer is $\\frac{1}{3}$.        | \\frac{1}{3}             | 1.0
            Answer: \\(42\\)                            | 42                      | 1.0
            first \\boxed{2}, then \\boxed{3}           | 3                       | 1.0
            first \\boxed{3}, then \\boxed{2}           | 3                       | 0.0
            \\boxed{5\\text{ cm}}                       | 5                       | 1.0
            \\boxed{5 \\mathrm{kg}}                     | 5                       | 1.0
            \\boxed{90^\\circ}                          | 90                      | 1.0
            \\boxed{90^{\\circ}}                        | 90°                     | 1.0
            \\boxed{50\\%}                              | 50                      | 1.0
            \\boxed{\\$18}                              | 18                      | 1.0
            \\boxed{18 dollars}                        | 18                      | 1.0
            \\boxed{1{,}000}                           | 1000                    | 1.0
            \\boxed{1,000,000}                         | 1000000                 | 1.0
            \\boxed{1\\,000}                            | 1000                    | 1.0
            \\boxed{x = 7}                             | 7                       | 1.0
            \\boxed{7.}                                | 7                       | 1.0
            \\boxed{7.50}                              | 7.5                     | 1.0
            \\boxed{\\left( 1, 2 \\right)}               | (1,2)                   | 1.0
            \\boxed{(1,3)}                             | (1,2)                   | 0.0
            \\boxed{B}                                 | B                       | 1.0
            \\boxed{\\text{(B)}}                        | (B)                     | 1.0
            \\boxed{x^{2}+1}                           | x^2 + 1                 | 1.0
            \\boxed{\\sqrt{2}}                          | \\boxed{\\sqrt{2}}        | 1.0
            It costs 18 dollars                       | 18                      | 1.0
            12 plus 7 is 19                           | 19                      | 1.0
            '19, no wait, 18'                         | 19                      | 0.0
            no idea                                   | 19                      | 0.0
            \\boxed{}                                  | 19                      | 0.0
            \\boxed{43}                                | Answer is forty three.  |
            """)
    void scoresTheCompletionsAnswerAgainstTheSolution(String completion, String solution, Double expected) {
        assertEquals(expected, accuracy.score("", completion, new int[0], Map.of("solution", solution)));
    }

    @Test
    void readsTheNumberEndingAGsm8kSolution() {
        assertEquals(1.0, accuracy.score("", "so 72", new int[0], Map.of("answer", "48 + 24 = 72\n#### 72")));
    }

    @Test
    void theSolutionColumnComesBeforeTheAnswerColumn() {
        Map<String, Object> row = Map.of("solution", "\\frac{1}{2}", "answer", "7");
        assertEquals(1.0, accuracy.score("", "\\boxed{0.5}", new int[0], row));
        assertEquals(0.0, accuracy.score("", "\\boxed{7}", new int[0], row));
    }

    @Test
    void aNumericAnswerColumnIsReadAsItsNumber() {
        assertEquals(1.0, accuracy.score("", "\\boxed{19}", new int[0], Map.of("answer", 19)));
        assertEquals(1.0, accuracy.score("", "19.0", new int[0], Map.of("answer", 19)));
    }

    @Test
    void aRowWithoutAReferenceAnswerIsNotJudged() {
        assertNull(accuracy.score("", "\\boxed{19}", new int[0], Map.of("level", 3)));
    }
}
