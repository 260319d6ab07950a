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
 * The model being trained, scoring completions: prompt + completion rows are packed right-padded into one dense
 * causal forward, and the LM head runs only on the positions that predict completion tokens.
 */
public final class Policy {
    private final CausalLM model;

    public Policy(CausalLM model) {
        this.model = model;
    }

    public CausalLM model() {
        return model;
    }

    /** What the optimizer updates: the LoRA adapter's tensors when the model has one (the base is frozen), else every weight. */
    public List<NDArray> trainableParameters() {
        return model.adapter() != null ? model.adapter().parameters() : model.weights().parameters();
    }

    /**
     * Whether the training forward (under autograd) differs from scoring and generation: a LoRA adapter with dropout.
     * Without autograd no dropout acts, so the sampler and a no-gradient forward see the same policy.
     */
    public boolean trainsWithDropout() {
        return model.adapter() != null && model.adapter().config().dropout() > 0;
    }

    /** One row to score: the prompt's tokens and the completion's tokens that follow them. */
    public record Sequence(int[] promptIds, int[] completionIds) {}

    /**
     * Per-token log-probs (and entropies) of each completion under the current weights, logits divided by
     * {@code temperature} as the sampler did. Shapes [B, Tmax] with Tmax the longest completion; positions past a
     * completion's end hold values for a padding token that the completion mask removes.
     */
    public TokenLogProbs completionLogProbs(List<Sequence> rows, double temperature, NDManager manager) {
        int b = rows.size();
        int width = 1;
        int seqLen = 1;
        for (Sequence s : rows) {
            width = Math.max(width, s.completionIds().length);
            seqLen = Math.max(seqLen, s.promptIds().length + s.completionIds().length);
        }
        long[] ids = new long[b * seqLen];
        long[] positions = new long[b * seqLen];
        long[] predictingRows = new long[b * width];
        long[] targets = new long[b * width];
        for (int r = 0; r < b; r++) {
            Sequence s = rows.get(r);
            int p = s.promptIds().length;
            if (p == 0) {
                throw new IllegalArgumentException("row " + r + " has an empty prompt: nothing predicts its first token");
            }
            for (int i = 0; i < seqLen; i++) {
                positions[r * seqLen + i] = i;
                if (i < p) {
                    ids[r * seqLen + i] = s.promptIds()[i];
                } else if (i - p < s.completionIds().length) {
                    ids[r * seqLen + i] = s.completionIds()[i - p];
                }
            }
            for (int t = 0; t < width; t++) {
                // the output at position p - 1 + t predicts completion token t; padding reuses the last real row
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
