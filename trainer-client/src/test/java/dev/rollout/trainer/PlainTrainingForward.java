package dev.rollout.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraTarget;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.model.Scalars;
import java.util.List;

/**
 * The training forward written plainly, the yardstick for {@link Policy}'s packed one: one row at a time, one head at
 * a time, each module's weight a slice of the fused one, each LoRA module its own {@code scale · (x A^T) B^T}, rotary
 * embedding from its formula. Differentiable tensor ops only (a Llama without biases or q/k norms), so its gradients
 * are autograd's of the same function. Returns [B, Tmax] log-probs laid out as {@link Policy#completionLogProbs}
 * lays them out, padding positions holding token 0 after the row's last token.
 */
final class PlainTrainingForward {
    private PlainTrainingForward() {
    }

    static NDArray logProbs(CausalLM model, List<Policy.Sequence> rows, double temperature, NDManager m) {
        int width = 1;
        for (Policy.Sequence s : rows) {
            width = Math.max(width, s.completionIds().length);
        }
        NDList out = new NDList();
        for (Policy.Sequence s : rows) {
            int p = s.promptIds().length;
            int len = s.completionIds().length;
            long[] ids = new long[p + len];
            long[] predicting = new long[width];
            long[] targets = new long[width];
            for (int i = 0; i < p + len; i++) {
                ids[i] = i < p ? s.promptIds()[i] : s.completionIds()[i - p];
            }
            for (int t = 0; t < width; t++) {
                predicting[t] = t < len ? p - 1 + t : p + len - 1;
                targets[t] = t < len ? s.completionIds()[t] : 0;
            }
            NDArray hidden = row(model, m.create(ids));
            NDArray logits = Scalars.div(linear(hidden.get(new NDIndex("{}", m.create(predicting))),
                    model.weights().lmHead()), temperature);
            out.add(logits.logSoftmax(-1).gather(m.create(targets).reshape(width, 1), -1).reshape(1, width));
        }
        return NDArrays.concat(out);
    }

    /** Final-normed hidden states [n, hidden] of one row starting at position 0. */
    private static NDArray row(CausalLM model, NDArray ids) {
        ModelConfig c = model.config();
        ModelWeights w = model.weights();
        LoraAdapter a = model.adapter();
        int n = (int) ids.getShape().get(0);
        int q = c.numHeads() * c.headDim();
        int kv = c.numKvHeads() * c.headDim();
        int inter = c.intermediateSize();
        NDArray x = w.embed().get(new NDIndex("{}", ids));
        NDArray[] rope = rope(c, n, ids.getManager());
        for (int i = 0; i < c.numLayers(); i++) {
            ModelWeights.Layer l = w.layers().get(i);
            NDArray hn = rmsNorm(x, l.inputNorm(), c);
            NDArray qs = project(a, i, LoraTarget.Q_PROJ, hn, rows(l.qkv(), 0, q));
            NDArray ks = project(a, i, LoraTarget.K_PROJ, hn, rows(l.qkv(), q, q + kv));
            NDArray vs = project(a, i, LoraTarget.V_PROJ, hn, rows(l.qkv(), q + kv, q + 2 * kv));
            NDList heads = new NDList();
            int group = c.numHeads() / c.numKvHeads();
            for (int h = 0; h < c.numHeads(); h++) {
                int g = h / group;
                NDArray qh = rotate(columns(qs, h * c.headDim(), (h + 1) * c.headDim()), rope);
                NDArray kh = rotate(columns(ks, g * c.headDim(), (g + 1) * c.headDim()), rope);
                NDArray vh = columns(vs, g * c.headDim(), (g + 1) * c.headDim());
                NDArray scores = Scalars.div(qh.matMul(kh.transpose()), Math.sqrt(c.headDim())).add(causalMask(n, ids));
                heads.add(scores.softmax(-1).matMul(vh));
            }
            NDArray h = x.add(project(a, i, LoraTarget.O_PROJ, NDArrays.concat(heads, 1), l.o()));
            NDArray hn2 = rmsNorm(h, l.postNorm(), c);
            NDArray gate = project(a, i, LoraTarget.GATE_PROJ, hn2, rows(l.gateUp(), 0, inter));
            NDArray up = project(a, i, LoraTarget.UP_PROJ, hn2, rows(l.gateUp(), inter, 2 * inter));
            x = h.add(project(a, i, LoraTarget.DOWN_PROJ, gate.mul(Activation.sigmoid(gate)).mul(up), l.down()));
        }
        return rmsNorm(x, w.norm(), c);
    }

    private static NDArray project(LoraAdapter a, int layer, LoraTarget target, NDArray x, NDArray weight) {
        NDArray y = linear(x, weight);
        NDArray[] ab = a == null ? null : a.tensors(layer, target);
        return ab == null ? y : y.add(Scalars.mul(x.matMul(ab[0].transpose()).matMul(ab[1].transpose()),
                a.config().scale()));
    }

    private static NDArray linear(NDArray x, NDArray weight) {
        return x.matMul(weight.transpose());
    }

    private static NDArray rows(NDArray weight, int from, int to) {
        return weight.get(new NDIndex("{}:{}", from, to));
    }

    private static NDArray columns(NDArray x, int from, int to) {
        return x.get(new NDIndex(":, {}:{}", from, to));
    }

    private static NDArray rmsNorm(NDArray x, NDArray weight, ModelConfig c) {
        return x.div(x.square().mean(new int[] {-1}, true).add((float) c.rmsNormEps()).sqrt()).mul(weight);
    }

    /** {cos, sin} [n, headDim] of positions 0..n-1: angle p · θ^(−2i/d) in float32, as transformers computes it. */
    private static NDArray[] rope(ModelConfig c, int n, NDManager m) {
        int d = c.headDim();
        float[] cos = new float[n * d];
        float[] sin = new float[n * d];
        for (int p = 0; p < n; p++) {
            for (int i = 0; i < d / 2; i++) {
                float inv = 1.0f / (float) Math.pow(c.ropeTheta(), (float) (2 * i) / (float) d);
                float angle = (float) p * inv;
                cos[p * d + i] = cos[p * d + d / 2 + i] = (float) Math.cos(angle);
                sin[p * d + i] = sin[p * d + d / 2 + i] = (float) Math.sin(angle);
            }
        }
        return new NDArray[] {m.create(cos, new Shape(n, d)), m.create(sin, new Shape(n, d))};
    }

    /** x · cos + rotate_half(x) · sin, rotate_half(x) = (−x2, x1). */
    private static NDArray rotate(NDArray x, NDArray[] rope) {
        long d = x.getShape().get(1);
        NDArray half = NDArrays.concat(new NDList(columns(x, (int) d / 2, (int) d).neg(), columns(x, 0, (int) d / 2)), 1);
        return x.mul(rope[0]).add(half.mul(rope[1]));
    }

    private static NDArray causalMask(int n, NDArray like) {
        float[] mask = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                mask[i * n + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return like.getManager().create(mask, new Shape(n, n));
    }
}
