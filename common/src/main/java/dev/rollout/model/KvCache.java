package dev.rollout.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serving KV cache: per layer one K and one V tensor {@code [numKvHeads, numBlocks, blockSize, headDim]} fp32,
 * zero-filled. Blocks are the unit of allocation; a sequence's tokens live in the blocks of its block table, in order.
 * Heads lead so that gathering a sequence's blocks yields {@code [numKvHeads, blocks, blockSize, headDim]}, which
 * reshapes to {@code [numKvHeads, tokens, headDim]} without a copy. Which block holds what is the engine's business.
 *
 * <p>On the CPU a large cache takes memory only as its blocks are written, not at startup: see {@link #lazyZeros}.
 */
public final class KvCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KvCache.class);
    /** Below this a CPU tensor is zero-filled at once: small caches (tests, the demo's) gain nothing from mapping. */
    static final long LAZY_MIN_BYTES = 16L << 20;

    private final NDManager manager;
    private final List<MappedByteBuffer> mappings = new ArrayList<>();
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();
    private final int numBlocks;
    private final int blockSize;
    private final long bytes;

    public KvCache(ModelConfig config, int numBlocks, int blockSize, NDManager parent) {
        this.manager = parent.newSubManager();
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        Shape shape = new Shape(config.numKvHeads(), numBlocks, blockSize, config.headDim());
        long tensorBytes = shape.size() * Float.BYTES;
        boolean lazy = "cpu".equals(parent.getDevice().getDeviceType()) && tensorBytes >= LAZY_MIN_BYTES
                && tensorBytes <= Integer.MAX_VALUE;
        for (int i = 0; i < config.numLayers(); i++) {
            keys.add(lazy ? lazyZeros(shape, tensorBytes) : manager.zeros(shape, DataType.FLOAT32));
            values.add(lazy ? lazyZeros(shape, tensorBytes) : manager.zeros(shape, DataType.FLOAT32));
        }
        this.bytes = bytesPerBlock(config, blockSize) * numBlocks;
    }

    /**
     * A zero tensor whose memory is committed page by page as it is written: a private mapping of a sparse temporary
     * file reads as zeros and copies a page into this process's memory on its first write, never back to the file
     * (deleted at once; it never holds data). Unlike uninitialised memory from the allocator, which may hold anything,
     * NaN included, where the attention's mask would not hide it, every unwritten slot reads 0. Falls back to
     * zero-filling when no temporary file can be made.
     */
    private NDArray lazyZeros(Shape shape, long bytes) {
        Path file = null;
        try {
            file = Files.createTempFile("rollout-kv-cache-", ".zeros");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(bytes);
                MappedByteBuffer buffer = raf.getChannel().map(FileChannel.MapMode.PRIVATE, 0, bytes);
                buffer.order(ByteOrder.nativeOrder());
                mappings.add(buffer);
                return manager.create(buffer, shape, DataType.FLOAT32);
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("KV cache: no lazily mapped memory ({}); zero-filling {} MiB now", e.getMessage(), bytes >> 20);
            return manager.zeros(shape, DataType.FLOAT32);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    LOG.warn("KV cache: could not delete the empty temporary file {}: {}", file, e.getMessage());
                }
            }
        }
    }

    /** K and V of one block across all layers, fp32. */
    public static long bytesPerBlock(ModelConfig config, int blockSize) {
        return config.kvBytesPerToken() * blockSize;
    }

    public NDArray keys(int layer) {
        return keys.get(layer);
    }

    public NDArray values(int layer) {
        return values.get(layer);
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    public long bytes() {
        return bytes;
    }

    /** Copies whole blocks (all layers, K and V): {@code sources[i]} into {@code targets[i]}. Four ops per layer. */
    public void copyBlocks(long[] sources, long[] targets, NDManager stepManager) {
        NDArray from = stepManager.create(sources);
        NDArray to = stepManager.create(targets);
        try (NDScope scope = new NDScope()) {
            for (int layer = 0; layer < keys.size(); layer++) {
                for (NDArray cache : List.of(keys.get(layer), values.get(layer))) {
                    cache.set(new NDIndex(":, {}", to), cache.get(new NDIndex(":, {}", from)));
                }
            }
        }
    }

    @Override
    public void close() {
        manager.close();
        mappings.clear(); // unmapped when collected
    }
}
