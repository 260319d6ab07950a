package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.rollout.model.CausalLM;
import dev.rollout.trainer.loss.TokenLogProbs;
import java.util.List;

/**
 * The model being trained, scoring completions: prompt + completion rows go through one dense causal forward, grouped
 * by length, and the LM head runs only on the positions that predict completion tokens.
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
     * completion's end hold values for a padding token that the completion mask removes. The rows go through the
     * model grouped by length ({@link PackedSequences}), so padding costs little; each row's values are those of a
     * forward of that row alone, up to float rounding.
     */
    public TokenLogProbs completionLogProbs(List<Sequence> rows, double temperature, NDManager manager) {
        PackedSequences packed = new PackedSequences(rows);
        NDArray hidden = model.forward(manager.create(packed.ids), manager.create(packed.positions), packed.context());
        NDArray picked = hidden.get(new NDIndex("{}", manager.create(packed.predicting)));
        long flat = packed.predicting.length;
        NDArray logits = model.logits(picked).reshape(1, flat, model.config().vocabSize());
        TokenLogProbs lp = TokenLogProbs.compute(logits, manager.create(packed.targets, new Shape(1, flat)), temperature);
        NDIndex toRows = new NDIndex("{}", manager.create(packed.unpack));
        Shape shape = new Shape(rows.size(), packed.width);
        return new TokenLogProbs(lp.logProbs().reshape(flat).get(toRows).reshape(shape),
                lp.entropy().reshape(flat).get(toRows).reshape(shape));
    }
}
