package dev.rollout.engine;

import java.util.List;

/**
 * The work of one engine step: for each scheduled sequence, how many of its uncomputed tokens go into this forward
 * (a decode token, or a prefill chunk), the block copies (copy-on-write) to make before it, and padding rows: finished
 * sequences that the static baseline keeps computing, as {@code generate()} does, whose outputs are discarded.
 */
record ScheduledBatch(List<Chunk> chunks, List<BlockManager.BlockCopy> copies, List<PaddingRow> padding) {

    /**
     * {@code numTokens} tokens of {@code sequence} starting at its first uncomputed one. {@code samples}: this chunk
     * reaches the sequence's last token, so its last row's logits are sampled.
     */
    record Chunk(Sequence sequence, int numTokens, boolean samples) {}

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
}
