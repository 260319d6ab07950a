package dev.rollout.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AsyncConfigTest {

    private static TrainerConfig parse(String... overrides) {
        return TrainerConfig.parse("", List.of(overrides));
    }

    private static ConfigException refused(String... overrides) {
        return assertThrows(ConfigException.class, () -> parse(overrides));
    }

    @Test
    void asyncIsOffByDefaultWithTrlsAsyncDefaults() {
        TrainerConfig c = parse();
        assertFalse(c.asyncGeneration());
        assertEquals(4, c.maxStaleness());
        assertEquals(1024, c.queueMaxsize());
        assertEquals(1, c.weightSyncSteps());
    }

    @Test
    void autoMaxInflightTasksIsMaxStalenessGenerationBatches() {
        TrainerConfig c = parse("async_generation=true", "per_device_train_batch_size=16", "max_staleness=2");
        assertEquals(2 * 16, c.maxInflightTasks());
        assertEquals(16, parse("async_generation=true", "per_device_train_batch_size=16", "max_staleness=0").maxInflightTasks(),
                "at least one generation batch");
        assertEquals(24, parse("max_inflight_tasks=24").maxInflightTasks());
    }

    @Test
    void asyncWithColocateIsRefusedSayingWhy() {
        ConfigException e = refused("async_generation=true", "rollout.mode=colocate");
        assertTrue(e.getMessage().contains("async_generation") && e.getMessage().contains("rollout.mode: server"), e.getMessage());
    }

    @Test
    void maxInflightTasksMustHoldAGroup() {
        assertTrue(refused("async_generation=true", "max_inflight_tasks=0").getMessage().contains("max_inflight_tasks"));
        assertTrue(refused("async_generation=true", "max_inflight_tasks=4").getMessage().contains("num_generations (8)"));
        assertTrue(refused("max_inflight_tasks=-2").getMessage().contains("max_inflight_tasks"));
    }

    @Test
    void theQueueMustHoldAGenerationBatch() {
        ConfigException e = refused("async_generation=true", "per_device_train_batch_size=64", "queue_maxsize=32");
        assertTrue(e.getMessage().contains("queue_maxsize") && e.getMessage().contains("64"), e.getMessage());
    }

    @Test
    void maxStalenessMustCoverTheVersionsBetweenTwoPushes() {
        ConfigException e = refused("async_generation=true", "weight_sync_steps=3", "max_staleness=1");
        assertTrue(e.getMessage().contains("weight_sync_steps"), e.getMessage());
        assertEquals(3, parse("async_generation=true", "weight_sync_steps=3", "max_staleness=2").weightSyncSteps());
    }

    @Test
    void badAsyncValuesNameTheKey() {
        assertTrue(refused("max_staleness=-1").getMessage().contains("max_staleness"));
        assertTrue(refused("weight_sync_steps=0").getMessage().contains("weight_sync_steps"));
        assertTrue(refused("async_generation=maybe").getMessage().contains("async_generation"));
    }
}
