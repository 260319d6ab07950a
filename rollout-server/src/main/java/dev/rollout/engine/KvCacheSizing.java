package dev.rollout.engine;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.KvCache;
import dev.rollout.model.ModelConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many KV cache blocks fit: {@code (memory the cache may use − weights − activation peak of a max_batch_tokens
 * step) × max_memory_percent / bytes per block}. On a GPU the memory is the device's free memory (the weights are
 * already resident, so they are part of what is used). On the CPU libtorch allocates native memory, outside the Java
 * heap: the memory is the machine's physical memory (as the JVM sees it, container limits included) less the most the
 * Java heap may grow to, less the weights, and never more than the memory free right now (other processes count);
 * and the cache's share of it is capped at {@link EngineConfig#cpuKvCacheBytes()} (4 GiB unless set).
 */
final class KvCacheSizing {
    private static final Logger LOG = LoggerFactory.getLogger(KvCacheSizing.class);

    private KvCacheSizing() {}

    static int numBlocks(ModelConfig model, EngineConfig config, long weightBytes, Device device) {
        long perBlock = KvCache.bytesPerBlock(model, config.blockSize());
        boolean tensorDecode = config.attentionBackend().expectedOn(device) == AttentionBackend.TENSOR;
        long activations = activationPeakBytes(model, config, tensorDecode);
        long available;
        String source;
        if (device != null && device.isGpu()) {
            MemoryUsage gpu = CudaUtils.getGpuMemory(device);
            available = gpu.getMax() - gpu.getUsed() - activations;
            source = String.format("%s: %s free of %s (weights %s already resident), minus activation peak %s",
                    device, mib(gpu.getMax() - gpu.getUsed()), mib(gpu.getMax()), mib(weightBytes), mib(activations));
        } else {
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long physical = os.getTotalMemorySize();
            long free = os.getFreeMemorySize();
            long heap = Runtime.getRuntime().maxMemory();
            long ours = physical - heap - weightBytes;
            // Other processes on the machine count too: never plan for more than is free now (the weights are loaded,
            // so free memory already excludes them).
            long usable = Math.min(ours, free);
            available = usable - activations;
            source = String.format("CPU: min(physical %s - Java heap max %s - weights %s, free now %s) = %s,"
                    + " minus activation peak %s", mib(physical), mib(heap), mib(weightBytes), mib(free), mib(usable),
                    mib(activations));
        }
        long budget = (long) (Math.max(0, available) * config.maxMemoryPercent());
        String cpuCap = "";
        if ((device == null || !device.isGpu()) && budget > config.cpuKvCacheBytes()) {
            // A CPU's RAM is shared with everything else on the machine and the cache is touched when allocated.
            budget = config.cpuKvCacheBytes();
            cpuCap = ", capped at the CPU KV cache space";
        }
        int blocks = (int) Math.min(Integer.MAX_VALUE, budget / perBlock);
        LOG.info("KV cache sizing: {} = {}; x {}{} = {} for the cache: {} blocks of {} tokens ({} per block)", source,
                mib(available), config.maxMemoryPercent(), cpuCap, mib(budget), blocks, config.blockSize(), kib(perBlock));
        if (device == null || !device.isGpu()) {
            // On CPU the attention kernel reads each layer's K and V tensor through one direct buffer (at most 2 GiB);
            // a cache that large already holds millions of tokens, more than a CPU can attend over usefully.
            long perLayerTensorPerBlock = perBlock / (2L * model.numLayers());
            int cap = (int) (Integer.MAX_VALUE / perLayerTensorPerBlock);
            if (blocks > cap) {
                LOG.info("KV cache capped at {} blocks on CPU (2 GiB per layer tensor)", cap);
                blocks = cap;
            }
        }
        if (blocks < 1) {
            throw new IllegalStateException("no memory left for the KV cache (" + source + " = " + mib(available)
                    + "); lower max_batch_tokens, raise max_memory_percent or set num_blocks explicitly");
        }
        return blocks;
    }

    /**
     * A rough upper bound of the transient memory of one forward over {@code maxBatchTokens} tokens (each layer's
     * temporaries are freed at the end of the layer, so one layer's count): the residual stream and norms, q/k/v with
     * their rotary copies, the fused MLP, the attention scores of one chunk against a full context, the K/V gathered
     * for it, and the logits of {@code maxNumSeqs} sampling rows. On the tensor backend, decode attention also gathers
     * the K and V of every decoding sequence padded to the longest context, and scores them: {@code maxNumSeqs ×
     * context} keys, the model's whole context (a long step on a GPU must not run out of memory).
     */
    static long activationPeakBytes(ModelConfig m, EngineConfig c, boolean tensorDecode) {
        long t = c.maxBatchTokens();
        long context = Math.min(m.maxPositionEmbeddings(), 8192);
        long stream = t * m.hiddenSize() * 4L;
        long qkv = t * (m.qSize() + 2L * m.kvSize()) * 2L;
        long mlp = t * m.intermediateSize() * 4L;
        long scores = (long) m.numHeads() * t * context * 2L;
        long gathered = 2L * context * m.kvSize() * 2L;
        long logits = (long) Math.min(c.maxNumSeqs(), c.maxBatchTokens()) * m.vocabSize() * 2L;
        long decode = 0;
        if (tensorDecode) {
            long keys = (long) Math.min(c.maxNumSeqs(), c.maxBatchTokens()) * m.maxPositionEmbeddings();
            decode = 2L * keys * m.kvSize() + 2L * m.numHeads() * keys;   // gathered K and V; scores and their softmax
        }
        return 4L * (stream + qkv + mlp + scores + gathered + logits) + 4L * decode;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    private static String kib(long bytes) {
        return String.format("%.1f KiB", bytes / 1024.0);
    }
}
