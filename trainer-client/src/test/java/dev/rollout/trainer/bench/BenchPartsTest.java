package dev.rollout.trainer.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchPartsTest {
    @Test
    void lengthStatsGiveMeanNearestRankPercentilesAndMax() {
        LengthStats s = LengthStats.of(List.of(5, 1, 4, 2, 3, 10, 9, 8, 7, 6));

        assertEquals(new LengthStats(10, 5.5, 5, 9, 10), s);
    }

    @Test
    void stopIdsAreEverySixtyFourthIdSoARandomTokenStopsWithProbabilityAboutOneIn64() {
        List<Integer> ids = RlBench.stopIds(8192);

        assertEquals(128, ids.size());
        assertEquals(63, ids.get(0));
        assertEquals(8191, ids.get(127));
    }

    @Test
    void selectKeepsTheBenchOrderAndRejectsUnknownNames() {
        assertEquals(List.of("sync", "async-s2"),
                BenchRunSpec.select(List.of("async-s2", "sync")).stream().map(BenchRunSpec::name).toList());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchRunSpec.select(List.of("fast")));
        assertTrue(e.getMessage().contains("async-s2-keep"), e.getMessage());
    }

    @Test
    void serverBusyTimeIsTheEngineStepTimersSum() {
        String exposition = "# HELP rollout_step_seconds Engine step\n# TYPE rollout_step_seconds summary\n"
                + "rollout_step_seconds_count 12\nrollout_step_seconds_sum 3.25\nrollout_step_seconds_max 0.5\n";

        assertEquals(3.25, ServerBusyTime.parse(exposition));
        assertEquals(0.0, ServerBusyTime.parse("rollout_generated_tokens_total 5\n"));
    }
}
