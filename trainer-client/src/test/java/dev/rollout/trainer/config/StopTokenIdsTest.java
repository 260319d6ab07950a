package dev.rollout.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rollout.trainer.StepRollouts;
import java.util.List;
import org.junit.jupiter.api.Test;

class StopTokenIdsTest {
    @Test
    void stopTokenIdsReachTheSamplingParameters() {
        TrainerConfig c = TrainerConfig.parse("stop_token_ids: [5, 9]\n", List.of());

        assertEquals(List.of(5, 9), StepRollouts.samplingParams(c, 1).getStopTokenIdsList());
    }

    @Test
    void noStopTokenIdsByDefault() {
        TrainerConfig c = TrainerConfig.parse("", List.of());

        assertEquals(List.of(), StepRollouts.samplingParams(c, 1).getStopTokenIdsList());
    }

    @Test
    void aStopTokenIdThatIsNotATokenIdIsRefusedNamingTheKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainerConfig.parse("stop_token_ids: [3, 2.5]\n", List.of()));

        assertEquals("stop_token_ids", e.key());
    }
}
