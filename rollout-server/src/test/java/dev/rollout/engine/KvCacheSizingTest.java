package dev.rollout.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.rollout.model.KvCache;
import org.junit.jupiter.api.Test;

/** On the CPU the cache gets a fixed budget, never a share of the whole machine's RAM. */
class KvCacheSizingTest {
    private static final long PER_BLOCK = KvCache.bytesPerBlock(TestEngines.CONFIG, 16);

    @Test
    void theDefaultCpuCacheTakesAtMostFourGiB() {
        int blocks = KvCacheSizing.numBlocks(TestEngines.CONFIG, EngineConfig.defaults(), 1 << 20, Device.cpu());
        assertTrue(blocks * PER_BLOCK <= 4L << 30, blocks + " blocks of " + PER_BLOCK + " bytes");
    }

    @Test
    void theCpuCacheSpaceSetsTheCpuCachesSize() {
        EngineConfig config = EngineConfig.defaults().withCpuKvCacheBytes(64L << 20);
        assertEquals((64L << 20) / PER_BLOCK, KvCacheSizing.numBlocks(TestEngines.CONFIG, config, 1 << 20, Device.cpu()));
    }

    @Test
    void aCacheSpaceOfNothingIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> EngineConfig.defaults().withCpuKvCacheBytes(0));
    }
}
