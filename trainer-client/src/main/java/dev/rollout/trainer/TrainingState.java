package dev.rollout.trainer;

import dev.rollout.trainer.data.PromptDataset;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where training stands: optimizer steps taken, the weight version last published, the position in the prompt
 * stream (epoch and index into that epoch's seeded order), so a resumed run continues with the prompts it would have
 * seen, and the prompt and completion tokens generated so far (TRL's {@code num_tokens}), so its count goes on too.
 */
public final class TrainingState {
    private int step;
    private long weightVersion;
    private int epoch;
    private int position;
    private long tokensSeen;
    private int[] order;
    /** Draws (see {@link #lastDraw}) at or after the cursor that were trained on before a resume: passed over once. */
    private final NavigableSet<Long> skipDraws = new TreeSet<>();
    private long lastDraw = -1;

    public TrainingState(int step, long weightVersion, int epoch, int position, long tokensSeen) {
        this.step = step;
        this.weightVersion = weightVersion;
        this.epoch = epoch;
        this.position = position;
        this.tokensSeen = tokensSeen;
    }

    public static TrainingState fresh() {
        return new TrainingState(0, 0, 0, 0, 0);
    }

    public int step() {
        return step;
    }

    public long weightVersion() {
        return weightVersion;
    }

    public int epoch() {
        return epoch;
    }

    public int position() {
        return position;
    }

    public long tokensSeen() {
        return tokensSeen;
    }

    /** Adds one generation's prompt and completion tokens; returns the total so far. */
    long addTokensSeen(long tokens) {
        tokensSeen += tokens;
        return tokensSeen;
    }

    /**
     * The next prompt's row index, moving to the next epoch's order at the end of one, and passing over the draws
     * to skip.
     */
    int nextRow(PromptDataset dataset, boolean shuffle) {
        while (true) {
            if (order == null) {
                order = dataset.epochOrder(epoch, shuffle);
            }
            if (position >= order.length) {
                epoch++;
                position = 0;
                order = dataset.epochOrder(epoch, shuffle);
            }
            lastDraw = (long) epoch * order.length + position;
            int row = order[position++];
            if (!skipDraws.remove(lastDraw)) {
                return row;
            }
        }
    }

    /**
     * The number of the prompt {@link #nextRow} returned last, counted from the run's first: epoch × prompts per epoch
     * + position in the epoch. The async producer names each group by it, so a group keeps its number (and seed)
     * when a resumed run draws it again.
     */
    long lastDraw() {
        return lastDraw;
    }

    /** Draws the cursor passes over once, as they were trained on before the checkpoint this state was read from. */
    public Set<Long> skipDraws() {
        return Set.copyOf(skipDraws);
    }

    void skipDraws(Set<Long> draws) {
        skipDraws.clear();
        skipDraws.addAll(draws);
    }

    /**
     * What to checkpoint while the draws in {@code untrained} (groups still being generated or waiting for the
     * trainer, which a checkpoint cannot hold) are not trained on: the cursor at the oldest of them, so that a resumed
     * run draws them again, and every later draw already trained on, to be skipped. Without untrained draws, this state.
     */
    TrainingState resumePoint(Set<Long> untrained, int promptsPerEpoch) {
        if (untrained.isEmpty()) {
            return this;
        }
        long oldest = new TreeSet<>(untrained).first();
        long next = lastDraw + 1; // the draws so far are [0, next)
        TrainingState r = new TrainingState(step, weightVersion, (int) (oldest / promptsPerEpoch),
                (int) (oldest % promptsPerEpoch), tokensSeen);
        for (long d : skipDraws) {
            r.skipDraws.add(d); // not reached yet
        }
        for (long d = oldest + 1; d < next; d++) {
            if (!untrained.contains(d)) {
                r.skipDraws.add(d);
            }
        }
        return r;
    }

    /** One optimizer step taken; its weights will be published as the next version. */
    void advance() {
        step++;
        weightVersion++;
    }

    /** The version the weights carry now, e.g. after the first publication to a server that already had a newer one. */
    void setWeightVersion(long version) {
        this.weightVersion = version;
    }
}
