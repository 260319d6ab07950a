package dev.rollout.trainer.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The demo's task: every sum of two digits, prompted as {@code "3+4="} with {@code answer} "7". A hundred facts the
 * embedded tiny model can hold, with short completions, so a whole RL run fits in minutes on two CPU cores.
 */
public final class AdditionDataset {
    public static final String NAME = "addition";

    private AdditionDataset() {}

    public static List<PromptRow> generate() {
        List<PromptRow> rows = new ArrayList<>(100);
        for (int a = 0; a <= 9; a++) {
            for (int b = 0; b <= 9; b++) {
                rows.add(PromptRow.ofText(a + "+" + b + "=", Map.of("answer", Integer.toString(a + b))));
            }
        }
        return rows;
    }
}
