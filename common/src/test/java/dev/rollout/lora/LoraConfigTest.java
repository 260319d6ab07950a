package dev.rollout.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoraConfigTest {
    @Test
    void scaleIsAlphaOverRank() {
        assertEquals(2.0, new LoraConfig(16, 32, 0, Set.of(LoraTarget.Q_PROJ), false).scale(), 0);
    }

    @Test
    void rsLoraScaleIsAlphaOverSquareRootOfRank() {
        assertEquals(8.0, new LoraConfig(16, 32, 0, Set.of(LoraTarget.Q_PROJ), true).scale(), 0);
    }

    @Test
    void allLinearTargetsEverySevenModules() {
        assertEquals(EnumSet.allOf(LoraTarget.class), LoraConfig.parseTargets(List.of("all-linear")));
    }

    @Test
    void unknownTargetModuleIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.parseTargets(List.of("q_proj", "qkv_proj")));
        assertTrue(e.getMessage().contains("'qkv_proj'"), e.getMessage());
        assertTrue(e.getMessage().contains("gate_proj"), e.getMessage());
    }

    @Test
    void rankZeroIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LoraConfig(0, 32, 0, Set.of(LoraTarget.Q_PROJ), false));
        assertTrue(e.getMessage().contains("lora_r"), e.getMessage());
    }

    @Test
    void negativeRankIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(-4, 32, 0, Set.of(LoraTarget.Q_PROJ), false));
    }

    @Test
    void targetNamesFollowTheModelsOrder() {
        LoraConfig c = new LoraConfig(4, 8, 0, LoraConfig.parseTargets(List.of("down_proj", "v_proj", "q_proj")), false);
        assertEquals(List.of("q_proj", "v_proj", "down_proj"), c.targetModuleNames());
    }
}
