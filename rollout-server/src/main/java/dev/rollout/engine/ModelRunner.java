package dev.rollout.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.CausalLM;
import dev.rollout.model.KvCache;
import dev.rollout.model.PagedAttentionContext;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one step's forward: the scheduled tokens of every sequence packed flat, their positions, and the paged
 * attention context built from each sequence's slice. Per step it creates two index tensors here (plus those the
 * context builds once for all layers), makes one forward, applies the LM head only to the rows that sample, and copies
 * those logits to Java once, straight from the tensor's memory into an array kept across steps (at 32 rows of a
 * 49,152-token vocabulary that is 6.3 MB a step, which as a new array each step was a G1 humongous allocation, and
 * the default copy went through a second, direct buffer). Every tensor it allocates lives in a per-step manager
 * closed at the end of the step.
 */
final class ModelRunner {
    private final CausalLM model;
    private final KvCache cache;
    private final NDManager manager;
    private final AttentionBackend backend;
    private final int vocab;
    /** Null off the CPU, where libtorch's intra-op threads do not run the step. */
    private final StepThreads threads;
    private float[] logits = new float[0];

    /** {@code backend}: JAVA or TENSOR, as resolved for the cache. */
    ModelRunner(CausalLM model, KvCache cache, NDManager manager, AttentionBackend backend) {
        this.model = model;
        this.cache = cache;
        this.manager = manager;
        this.backend = backend;
        this.vocab = model.config().vocabSize();
        this.threads = "cpu".equals(manager.getDevice().getDeviceType()) ? new StepThreads(JniUtils.getNumThreads()) : null;
    }

    int vocabSize() {
        return vocab;
    }

    /**
     * Makes the batch's block copies, then the forward. Returns the logits of the sampling chunks' last rows, in chunk
     * order, flat: row {@code r} at {@code [r * vocab, (r + 1) * vocab)}. The array is this runner's and is overwritten
     * by the next call; it may be longer than the rows it holds.
     */
    float[] execute(ScheduledBatch batch) {
        int total = batch.numTokens();
        long[] tokenIds = new long[total];
        long[] positions = new long[total];
        List<PagedAttentionContext.SequenceSlice> slices = new ArrayList<>(batch.chunks().size());
        long[] sampleRows = new long[batch.chunks().size()];
        int numSampling = 0;
        int row = 0;
        for (ScheduledBatch.Chunk c : batch.chunks()) {
            Sequence seq = c.sequence();
            int start = seq.numComputedTokens;
            for (int i = 0; i < c.numTokens(); i++) {
                tokenIds[row] = seq.tokenAt(start + i);
                positions[row] = start + i;
                row++;
            }
            slices.add(new PagedAttentionContext.SequenceSlice(c.numTokens(), start + c.numTokens(), seq.blockTable()));
            if (c.lastRowSampled()) {
                sampleRows[numSampling++] = row - 1;
            }
        }
        for (ScheduledBatch.PaddingRow pad : batch.padding()) {
            tokenIds[row] = pad.sequence().lastToken();
            positions[row] = pad.position();
            row++;
            slices.add(new PagedAttentionContext.SequenceSlice(1, pad.position() + 1, pad.sequence().blockTable()));
        }
        if (threads != null) {
            threads.apply(row);
        }
        try (NDManager step = manager.newSubManager()) {
            if (!batch.copies().isEmpty()) {
                long[] sources = new long[batch.copies().size()];
                long[] targets = new long[sources.length];
                for (int i = 0; i < sources.length; i++) {
                    sources[i] = batch.copies().get(i).source();
                    targets[i] = batch.copies().get(i).target();
                }
                cache.copyBlocks(sources, targets, step);
            }
            try (PagedAttentionContext ctx = new PagedAttentionContext(cache, slices, step, backend)) {
                NDArray hidden = model.forward(step.create(tokenIds), step.create(positions), ctx);
                if (numSampling == 0) {
                    return new float[0];
                }
                NDArray rows = numSampling == total ? hidden
                        : hidden.get(new NDIndex("{}", step.create(Arrays.copyOf(sampleRows, numSampling))));
                return copyOut(model.logits(rows), numSampling);
            }
        }
    }

    /** The {@code [rows, vocab]} logits into {@link #logits}, read where the tensor lies (no intermediate copy). */
    private float[] copyOut(NDArray rowsLogits, int rows) {
        int n = Math.multiplyExact(rows, vocab);
        if (logits.length < n) {
            logits = new float[n];
        }
        rowsLogits.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().get(logits, 0, n);
        return logits;
    }
}
