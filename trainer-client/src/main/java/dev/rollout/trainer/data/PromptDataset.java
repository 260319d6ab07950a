package dev.rollout.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** The prompts to train on, from a JSONL file or a built-in generator, visited in a seeded order each epoch. */
public final class PromptDataset {
    /** Rows the built-in generator makes: plenty for a demo, cheap to hold. */
    static final int GENERATED_ROWS = 1024;

    private final List<PromptRow> rows;
    private final long seed;

    public PromptDataset(List<PromptRow> rows, long seed) {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a dataset needs at least one prompt");
        }
        this.rows = List.copyOf(rows);
        this.seed = seed;
    }

    /**
     * The config's {@code dataset}: an existing file is read as JSONL; otherwise the name of a built-in generator.
     */
    public static PromptDataset open(String dataset, long seed) throws IOException {
        Path file = Path.of(dataset);
        if (Files.isRegularFile(file)) {
            return new PromptDataset(JsonlDataset.load(file), seed);
        }
        if (dataset.equals(ArithmeticDataset.NAME)) {
            return new PromptDataset(ArithmeticDataset.generate(seed, GENERATED_ROWS), seed);
        }
        if (dataset.equals(AdditionDataset.NAME)) {
            return new PromptDataset(AdditionDataset.generate(), seed);
        }
        throw new IllegalArgumentException("dataset '" + dataset + "' is neither a file nor a built-in generator ("
                + ArithmeticDataset.NAME + ", " + AdditionDataset.NAME + ")");
    }

    public int size() {
        return rows.size();
    }

    public PromptRow row(int index) {
        return rows.get(index);
    }

    /**
     * The order of the rows in an epoch: a Fisher–Yates shuffle seeded by (seed, epoch) when shuffling, else file
     * order. The same seed and epoch always give the same order, so a resumed run sees the prompts it would have.
     */
    public int[] epochOrder(int epoch, boolean shuffle) {
        int[] order = new int[rows.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }
}
