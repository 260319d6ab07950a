package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A large CPU cache reads as zeros everywhere but takes memory only where it is written. */
class KvCacheMemoryTest {
    private static final ModelConfig CONFIG = TestModels.llama();
    /** 128 MiB per layer tensor, 512 MiB in all. */
    private static final int BLOCKS = 131_072;

    @Test
    void aLargeCpuCacheTakesMemoryOnlyWhereWritten() throws IOException {
        Path status = Path.of("/proc/self/status");
        assertTrue(Files.isReadable(status), "needs Linux's /proc to read the resident set");
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            long before = residentBytes(status);
            try (KvCache cache = new KvCache(CONFIG, BLOCKS, 16, manager)) {
                long grown = residentBytes(status) - before;
                assertTrue(cache.bytes() >= 512L << 20, "cache of " + cache.bytes());
                assertTrue(grown < cache.bytes() / 4, "a " + (cache.bytes() >> 20) + " MiB cache made the process grow by "
                        + (grown >> 20) + " MiB before anything was written");
            }
        }
    }

    @Test
    void aLargeCpuCacheReadsZerosAndKeepsWhatIsWritten() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu()); KvCache cache = new KvCache(CONFIG, BLOCKS, 16, manager)) {
            NDArray keys = cache.keys(1);
            assertEquals(0f, keys.get(new NDIndex(":, 77")).abs().sum().getFloat());
            assertEquals(0f, keys.get(new NDIndex(":, {}", BLOCKS - 1)).abs().sum().getFloat());
            float[] block = new float[CONFIG.numKvHeads() * 16 * CONFIG.headDim()];
            for (int i = 0; i < block.length; i++) {
                block[i] = i * 0.5f;
            }
            keys.set(new NDIndex(":, 77"), manager.create(block).reshape(CONFIG.numKvHeads(), 16, CONFIG.headDim()));
            assertArrayEquals(block, keys.get(new NDIndex(":, 77")).toFloatArray());
            assertEquals(0f, cache.values(1).get(new NDIndex(":, 77")).abs().sum().getFloat());
        }
    }

    private static long residentBytes(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in " + status);
    }
}
