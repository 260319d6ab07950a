package dev.rollout.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The work of one engine step: for each scheduled sequence, how many of its uncomputed tokens go into this forward
 * (a decode token, or a prefill chunk), the block copies (copy-on-write) to make before it, and padding rows: finished
 * sequences that the static baseline keeps computing, as {@code generate()} does, whose outputs are discarded.
 */
record ScheduledBatch(List<Chunk> chunks, List<BlockManager.BlockCopy> copies, List<PaddingRow> padding) {

    /**
     * {@code numTokens} tokens of {@code sequence} starting at its first uncomputed one. {@code lastRowSampled}: this
     * chunk reaches the sequence's last token, so its last row's logits are sampled. {@code forks}: the samples of the
     * same prompt waiting on this chunk's prefill; they are forked from {@code sequence} after the forward and draw
     * their first token from the same row.
     */
    record Chunk(Sequence sequence, int numTokens, boolean lastRowSampled, List<Sequence> forks) {
        Chunk(Sequence sequence, int numTokens, boolean lastRowSampled) {
            this(sequence, numTokens, lastRowSampled, List.of());
        }
    }

    /** A finished sequence's last token fed again at {@code position}, into its own reserved blocks. */
    record PaddingRow(Sequence sequence, int position) {}

    static final ScheduledBatch EMPTY = new ScheduledBatch(List.of(), List.of(), List.of());

    ScheduledBatch(List<Chunk> chunks, List<BlockManager.BlockCopy> copies) {
        this(chunks, copies, List.of());
    }

    boolean isEmpty() {
        return chunks.isEmpty();
    }

    int numTokens() {
        int total = 0;
        for (Chunk c : chunks) {
            total += c.numTokens();
        }
        return total + padding.size();
    }

    /** Prompt tokens (not recomputed generated ones) this step computes; read before {@link Scheduler#update}. */
    long numPromptTokens() {
        long total = 0;
        for (Chunk c : chunks) {
            Sequence seq = c.sequence();
            int first = seq.numComputedTokens;
            total += Math.max(0, Math.min(first + c.numTokens(), seq.numPromptTokens()) - first);
        }
        return total;
    }

    /**
     * The sequences that sample in this step, each with the offset of its row in the runner's flat logits of
     * {@code vocab} columns: a sampling chunk's sequence, then its forks, on the same row.
     */
    List<BatchSampler.Draw> draws(int vocab) {
        List<BatchSampler.Draw> draws = new ArrayList<>(chunks.size());
        int row = 0;
        for (Chunk c : chunks) {
            if (!c.lastRowSampled()) {
                continue;
            }
            int offset = row++ * vocab;
            draws.add(new BatchSampler.Draw(c.sequence(), offset));
            for (Sequence fork : c.forks()) {
                draws.add(new BatchSampler.Draw(fork, offset));
            }
        }
        return draws;
    }
}
