package dev.rollout.model;

import dev.rollout.weights.HostTensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately plain float64 implementation of the Llama-family forward, written from the Hugging Face modeling code
 * and sharing nothing with {@link CausalLM}: the yardstick its tests measure against.
 */
public final class ReferenceModel {
    private final ModelConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    public ReferenceModel(ModelConfig config, List<HostTensor> tensors) {
        this.c = config;
        for (HostTensor t : tensors) {
            float[] f = t.toFloats();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            w.put(t.name(), d);
        }
    }

    /** Logits [tokens.length][vocab] of one sequence starting at position 0. */
    public double[][] logits(int[] tokens) {
        int n = tokens.length;
        int h = c.hiddenSize();
        int hd = c.headDim();
        int nh = c.numHeads();
        int nkv = c.numKvHeads();
        double[][] x = new double[n][h];
        double[] emb = w.get("model.embed_tokens.weight");
        for (int t = 0; t < n; t++) {
            System.arraycopy(emb, tokens[t] * h, x[t], 0, h);
        }
        double[] inv = inverseFrequencies();
        for (int layer = 0; layer < c.numLayers(); layer++) {
            String p = "model.layers." + layer + ".";
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] hn = rmsNorm(x[t], w.get(p + "input_layernorm.weight"));
                q[t] = linear(hn, w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"), nh * hd);
                k[t] = linear(hn, w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"), nkv * hd);
                v[t] = linear(hn, w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"), nkv * hd);
                if (c.qkNorm()) {
                    headNorm(q[t], nh, w.get(p + "self_attn.q_norm.weight"));
                    headNorm(k[t], nkv, w.get(p + "self_attn.k_norm.weight"));
                }
                rotate(q[t], nh, t, inv);
                rotate(k[t], nkv, t, inv);
            }
            double[][] attn = new double[n][nh * hd];
            int group = nh / nkv;
            for (int t = 0; t < n; t++) {
                for (int head = 0; head < nh; head++) {
                    int kvh = head / group;
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double s = 0;
                        for (int d = 0; d < hd; d++) {
                            s += q[t][head * hd + d] * k[j][kvh * hd + d];
                        }
                        scores[j] = s / Math.sqrt(hd);
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        for (int d = 0; d < hd; d++) {
                            attn[t][head * hd + d] += scores[j] / sum * v[j][kvh * hd + d];
                        }
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                double[] o = linear(attn[t], w.get(p + "self_attn.o_proj.weight"), null, h);
                for (int i = 0; i < h; i++) {
                    x[t][i] += o[i];
                }
                double[] hn = rmsNorm(x[t], w.get(p + "post_attention_layernorm.weight"));
                int inter = c.intermediateSize();
                double[] gate = linear(hn, w.get(p + "mlp.gate_proj.weight"), null, inter);
                double[] up = linear(hn, w.get(p + "mlp.up_proj.weight"), null, inter);
                for (int i = 0; i < inter; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                double[] down = linear(gate, w.get(p + "mlp.down_proj.weight"), null, h);
                for (int i = 0; i < h; i++) {
                    x[t][i] += down[i];
                }
            }
        }
        double[] head = c.tieWordEmbeddings() ? emb : w.get("lm_head.weight");
        double[][] out = new double[n][];
        for (int t = 0; t < n; t++) {
            out[t] = linear(rmsNorm(x[t], w.get("model.norm.weight")), head, null, c.vocabSize());
        }
        return out;
    }

    /** transformers' _compute_default_rope_parameters and _compute_llama3_parameters, in float64. */
    private double[] inverseFrequencies() {
        int hd = c.headDim();
        double[] inv = new double[hd / 2];
        for (int i = 0; i < hd / 2; i++) {
            inv[i] = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hd);
            ModelConfig.RopeScaling s = c.ropeScaling();
            if (s != null) {
                double wavelen = 2 * Math.PI / inv[i];
                double low = s.originalMaxPositions() / s.lowFreqFactor();
                double high = s.originalMaxPositions() / s.highFreqFactor();
                if (wavelen > low) {
                    inv[i] /= s.factor();
                } else if (wavelen >= high) {
                    double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                    inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    private double[] rmsNorm(double[] x, double[] weight) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double r = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * r * weight[i];
        }
        return out;
    }

    private void headNorm(double[] x, int heads, double[] weight) {
        int hd = c.headDim();
        for (int head = 0; head < heads; head++) {
            double[] part = java.util.Arrays.copyOfRange(x, head * hd, head * hd + hd);
            System.arraycopy(rmsNorm(part, weight), 0, x, head * hd, hd);
        }
    }

    private void rotate(double[] x, int heads, int pos, double[] inv) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            for (int i = 0; i < half; i++) {
                double angle = pos * inv[i];
                double a = x[head * hd + i];
                double b = x[head * hd + half + i];
                x[head * hd + i] = a * Math.cos(angle) - b * Math.sin(angle);
                x[head * hd + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
            }
        }
    }

    private static double[] linear(double[] x, double[] weight, double[] bias, int out) {
        int in = x.length;
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = bias == null ? 0 : bias[o];
            for (int i = 0; i < in; i++) {
                s += weight[o * in + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }
}
