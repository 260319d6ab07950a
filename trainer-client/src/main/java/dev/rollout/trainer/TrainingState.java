package dev.rollout.trainer;

import dev.rollout.trainer.data.PromptDataset;

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

    /** The next prompt's row index, moving to the next epoch's order at the end of one. */
    int nextRow(PromptDataset dataset, boolean shuffle) {
        if (order == null) {
            order = dataset.epochOrder(epoch, shuffle);
        }
        if (position >= order.length) {
            epoch++;
            position = 0;
            order = dataset.epochOrder(epoch, shuffle);
        }
        return order[position++];
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
