package dev.rollout.engine;

import java.util.List;

/**
 * The work of one engine step: for each scheduled sequence, how many of its uncomputed tokens go into this forward
 * (a decode token, or a prefill chunk), and the block copies (copy-on-write) to make before it.
 */
record ScheduledBatch(List<Chunk> chunks, List<BlockManager.BlockCopy> copies) {

    /**
     * {@code numTokens} tokens of {@code sequence} starting at its first uncomputed one. {@code samples}: this chunk
     * reaches the sequence's last token, so its last row's logits are sampled.
     */
    record Chunk(Sequence sequence, int numTokens, boolean samples) {}

    static final ScheduledBatch EMPTY = new ScheduledBatch(List.of(), List.of());

    boolean isEmpty() {
        return chunks.isEmpty();
    }

    int numTokens() {
        int total = 0;
        for (Chunk c : chunks) {
            total += c.numTokens();
        }
        return total;
    }
}
