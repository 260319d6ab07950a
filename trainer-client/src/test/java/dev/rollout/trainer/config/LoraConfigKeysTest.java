package dev.rollout.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.LoraTarget;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** TRL's ModelConfig LoRA keys: their defaults, and bad values refused with the key named. */
class LoraConfigKeysTest {
    @Test
    void defaultsAreTrlsAndPefts() {
        TrainerConfig c = TrainerConfig.defaults(List.of());
        assertFalse(c.usePeft());
        LoraConfig lora = c.loraConfig();
        assertEquals(16, lora.r());
        assertEquals(32.0, lora.alpha());
        assertEquals(0.05, lora.dropout());
        assertEquals(Set.of(LoraTarget.Q_PROJ, LoraTarget.V_PROJ), lora.targets());
        assertFalse(lora.useRslora());
    }

    @Test
    void allLinearAndRsLoraAreRead() {
        LoraConfig lora = TrainerConfig.defaults(List.of("use_peft=true", "lora_target_modules=[all-linear]", "use_rslora=true",
                "lora_r=4", "lora_alpha=8")).loraConfig();
        assertEquals(EnumSet.allOf(LoraTarget.class), lora.targets());
        assertEquals(4.0, lora.scale());
    }

    @Test
    void rankZeroIsRefusedNamingTheKey() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainerConfig.defaults(List.of("lora_r=0")));
        assertEquals("lora_r", e.key());
    }

    @Test
    void unknownTargetModuleIsRefusedNamingIt() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.defaults(List.of("lora_target_modules=[q_proj, query_key_value]")));
        assertEquals("lora_target_modules", e.key());
        assertTrue(e.getMessage().contains("'query_key_value'"), e.getMessage());
    }

    @Test
    void dropoutOfOneIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainerConfig.defaults(List.of("lora_dropout=1.0")));
        assertEquals("lora_dropout", e.key());
    }
}
