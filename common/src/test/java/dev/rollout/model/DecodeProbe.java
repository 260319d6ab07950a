package dev.rollout.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;

public class DecodeProbe {
    public static void main(String[] args) {

        int batch = Integer.parseInt(args.length > 0 ? args[0] : "32");
        int ctxLen = 192;
        ModelConfig c = new ModelConfig("LlamaForCausalLM", "llama", 8192, 512, 1408, 8, 8, 4, 64, 1e-5, 10000.0, null, true, 2048,
                false, false, List.of(2), 1, "float32");
        System.out.println("params " + c.parameterCount());
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            JniUtils.setGradMode(false);
            ModelWeights w = ModelWeights.fromHost(c, TestModels.mapOf(TestModels.randomWeights(c, 1, 0.02)), m);
            CausalLM model = new CausalLM(c, w);
            int bs = 16;
            int blocksPer = (ctxLen + 1 + bs - 1) / bs;
            TestKvCache cache = new TestKvCache(c, batch * blocksPer + 1, bs, m);
            List<PagedAttentionContext.SequenceSlice> slices = new ArrayList<>();
            long[] ids = new long[batch];
            long[] pos = new long[batch];
            for (int b = 0; b < batch; b++) {
                int[] table = new int[blocksPer];
                for (int i = 0; i < blocksPer; i++) table[i] = b * blocksPer + i;
                slices.add(new PagedAttentionContext.SequenceSlice(1, ctxLen + 1, table));
                ids[b] = b;
                pos[b] = ctxLen;
            }
            for (int it = 0; it < 40; it++) {
                long t0 = System.nanoTime();
                try (NDManager step = m.newSubManager(); PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step)) {
                    AttentionContext a = args.length > 1 ? (l, q, k, v) -> q.reshape(q.getShape().get(0), -1) : ctx;
                    NDArray h = model.forward(step.create(ids), step.create(pos), a);
                    float[] l = model.logits(h).toFloatArray();
                }
                long t1 = System.nanoTime();
                if (it >= 20) System.out.printf("step %.2f ms%n", (t1 - t0) / 1e6);
            }
        }
    }
}
