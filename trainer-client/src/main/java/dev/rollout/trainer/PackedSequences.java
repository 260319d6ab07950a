package dev.rollout.trainer;

import dev.rollout.model.DenseCausalContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * How {@link Policy} lays out prompt + completion rows for one forward: sorted by length and grouped into segments of
 * rows within {@link #MAX_PADDING} of their segment's longest, each segment padded only to that length. With the
 * long-tailed completion lengths of RL (most short, a few at the cap) one batch padded to its longest row spends most
 * of its tokens on padding. The LM head runs only on the positions that predict a completion token, packed flat, plus
 * one per row that the row's padding positions of the [B, Tmax] outputs read: token 0 predicted by the row's last
 * token, as in one padded batch, so that even a loss that reads padding (luspo's unmasked mean) is unchanged.
 */
final class PackedSequences {
    /** A row joins a segment while padding it to the segment's longest adds at most this fraction of that length. */
    static final double MAX_PADDING = 0.125;

    final List<DenseCausalContext.Segment> segments = new ArrayList<>();
    /** int64 [T]: the tokens of every segment, row-major, padding 0. */
    final long[] ids;
    /** int64 [T]: each token's position in its row. */
    final long[] positions;
    /** [N + B]: the row of the forward's output that predicts each completion token, then each row's padding one. */
    final long[] predicting;
    /** [N + B]: the completion tokens, in {@link #predicting}'s order, then 0 for padding. */
    final long[] targets;
    /** [B · width]: for row r, completion position t, the index into {@link #predicting}; N + r for padding. */
    final long[] unpack;
    final int width;

    PackedSequences(List<Policy.Sequence> rows) {
        int b = rows.size();
        int w = 1;
        int n = 0;
        for (int r = 0; r < b; r++) {
            Policy.Sequence s = rows.get(r);
            if (s.promptIds().length == 0) {
                throw new IllegalArgumentException("row " + r + " has an empty prompt: nothing predicts its first token");
            }
            w = Math.max(w, s.completionIds().length);
            n += s.completionIds().length;
        }
        width = w;
        Integer[] order = new Integer[b];
        for (int r = 0; r < b; r++) {
            order[r] = r;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer r) -> length(rows.get(r))).reversed());
        int[] segmentOf = new int[b]; // segment index of each position in `order`
        int current = -1;
        int segmentLength = 0;
        int segmentRows = 0;
        long total = 0;
        for (int i = 0; i < b; i++) {
            int len = length(rows.get(order[i]));
            if (current < 0 || segmentLength - len > MAX_PADDING * segmentLength) {
                if (current >= 0) {
                    segments.add(new DenseCausalContext.Segment(segmentRows, segmentLength));
                }
                current++;
                segmentLength = len;
                segmentRows = 0;
            }
            segmentOf[i] = current;
            segmentRows++;
            total += segmentLength;
        }
        segments.add(new DenseCausalContext.Segment(segmentRows, segmentLength));

        ids = new long[(int) total];
        positions = new long[(int) total];
        predicting = new long[n + b];
        targets = new long[n + b];
        unpack = new long[b * width];
        int at = 0; // token offset of the row being laid out
        int next = 0; // next completion token in the flat order
        for (int i = 0; i < b; i++) {
            int r = order[i];
            Policy.Sequence s = rows.get(r);
            int seqLen = segments.get(segmentOf[i]).seqLen();
            int p = s.promptIds().length;
            for (int j = 0; j < seqLen; j++) {
                positions[at + j] = j;
                if (j < p) {
                    ids[at + j] = s.promptIds()[j];
                } else if (j - p < s.completionIds().length) {
                    ids[at + j] = s.completionIds()[j - p];
                }
            }
            int len = s.completionIds().length;
            for (int t = 0; t < width; t++) {
                if (t < len) {
                    // the output at position p - 1 + t predicts completion token t
                    predicting[next] = at + p - 1 + t;
                    targets[next] = s.completionIds()[t];
                    unpack[r * width + t] = next++;
                } else {
                    unpack[r * width + t] = n + r;
                }
            }
            predicting[n + r] = at + p + len - 1; // the row's last token; its target stays 0
            at += seqLen;
        }
    }

    DenseCausalContext context() {
        return new DenseCausalContext(segments);
    }

    private static int length(Policy.Sequence s) {
        return s.promptIds().length + s.completionIds().length;
    }
}
