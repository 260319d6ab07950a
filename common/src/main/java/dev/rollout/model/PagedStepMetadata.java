package dev.rollout.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Where one serving step's tokens go, as plain arrays built once and shared by every layer and both backends (nano-vllm's
 * {@code prepare_prefill}/{@code prepare_decode}): the tokens of several sequences are packed flat in the order of the
 * sequences; each token's cache slot (slot mapping) and position; each sequence's first row; which sequences decode one
 * token (attended as a batch) and the longest context among them.
 */
final class PagedStepMetadata {
    final List<PagedAttentionContext.SequenceSlice> sequences;
    final int blockSize;
    final int totalTokens;
    /** Flat cache slot of each token of this step. */
    final long[] slotIds;
    /** Position of each token in its sequence. */
    final int[] rowPositions;
    /** First row of each sequence. */
    final int[] rowStart;
    /** Indices (into {@link #sequences}) of the sequences with one query token. */
    final int[] decodeSequences;
    final int maxDecodeContext;

    PagedStepMetadata(List<PagedAttentionContext.SequenceSlice> sequences, int blockSize) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("a step needs at least one sequence");
        }
        this.sequences = List.copyOf(sequences);
        this.blockSize = blockSize;
        int t = 0;
        for (PagedAttentionContext.SequenceSlice s : sequences) {
            int needed = blocksFor(s.contextLen());
            if (s.blockTable().length < needed) {
                throw new IllegalArgumentException("block table of " + s.blockTable().length + " blocks cannot hold "
                        + s.contextLen() + " tokens at block size " + blockSize);
            }
            t += s.queryLen();
        }
        this.totalTokens = t;
        slotIds = new long[t];
        rowPositions = new int[t];
        rowStart = new int[sequences.size()];
        List<Integer> decode = new ArrayList<>();
        int row = 0;
        int maxDecode = 0;
        for (int i = 0; i < sequences.size(); i++) {
            PagedAttentionContext.SequenceSlice s = sequences.get(i);
            rowStart[i] = row;
            for (int p = s.contextLen() - s.queryLen(); p < s.contextLen(); p++) {
                rowPositions[row] = p;
                slotIds[row++] = (long) s.blockTable()[p / blockSize] * blockSize + p % blockSize;
            }
            if (s.queryLen() == 1) {
                decode.add(i);
                maxDecode = Math.max(maxDecode, s.contextLen());
            }
        }
        decodeSequences = decode.stream().mapToInt(Integer::intValue).toArray();
        maxDecodeContext = maxDecode;
    }

    int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }
}
