package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.CausalLM;
import dev.rollout.model.DenseCausalContext;
import dev.rollout.trainer.loss.TokenLogProbs;
import java.util.List;

/**
 * The reference layout {@link Policy} is checked and measured against: every row right-padded into one [B, longest]
 * batch, the LM head on B × longest completion positions (how the policy scored rows before grouping them by length).
 */
final class PaddedScoring {
    private PaddedScoring() {
    }

    static TokenLogProbs logProbs(CausalLM model, List<Policy.Sequence> rows, double temperature, NDManager manager) {
        int b = rows.size();
        int width = 1;
        int seqLen = 1;
        for (Policy.Sequence s : rows) {
            width = Math.max(width, s.completionIds().length);
            seqLen = Math.max(seqLen, s.promptIds().length + s.completionIds().length);
        }
        long[] ids = new long[b * seqLen];
        long[] positions = new long[b * seqLen];
        long[] predictingRows = new long[b * width];
        long[] targets = new long[b * width];
        for (int r = 0; r < b; r++) {
            Policy.Sequence s = rows.get(r);
            int p = s.promptIds().length;
            for (int i = 0; i < seqLen; i++) {
                positions[r * seqLen + i] = i;
                if (i < p) {
                    ids[r * seqLen + i] = s.promptIds()[i];
                } else if (i - p < s.completionIds().length) {
                    ids[r * seqLen + i] = s.completionIds()[i - p];
                }
            }
            for (int t = 0; t < width; t++) {
                int at = Math.min(p - 1 + t, p + s.completionIds().length - 1);
                predictingRows[r * width + t] = (long) r * seqLen + Math.max(at, p - 1);
                targets[r * width + t] = t < s.completionIds().length ? s.completionIds()[t] : 0;
            }
        }
        NDArray hidden = model.forward(manager.create(ids), manager.create(positions), new DenseCausalContext(b, seqLen));
        NDArray picked = hidden.get(new NDIndex("{}", manager.create(predictingRows)));
        NDArray logits = model.logits(picked).reshape(b, width, model.config().vocabSize());
        return TokenLogProbs.compute(logits, manager.create(targets, new Shape(b, width)), temperature);
    }

}
