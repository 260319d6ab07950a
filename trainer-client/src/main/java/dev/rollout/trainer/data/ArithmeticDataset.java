package dev.rollout.trainer.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The {@code arithmetic} dataset, a synthetic task for {@code train} configs: "What is 3+4?" with {@code answer} "7".
 * Sums and differences of operands in [0, 20], the same rows for the same seed. (The demo uses
 * {@link AdditionDataset}.)
 */
public final class ArithmeticDataset {
    public static final String NAME = "arithmetic";
    static final int MAX_OPERAND = 20;

    private ArithmeticDataset() {
    }

    public static List<PromptRow> generate(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        List<PromptRow> rows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(MAX_OPERAND + 1);
            int b = random.nextInt(MAX_OPERAND + 1);
            boolean plus = random.nextBoolean();
            int answer = plus ? a + b : a - b;
            rows.add(PromptRow.ofText("What is " + a + (plus ? "+" : "-") + b + "?",
                    Map.of("answer", Integer.toString(answer))));
        }
        return rows;
    }
}
