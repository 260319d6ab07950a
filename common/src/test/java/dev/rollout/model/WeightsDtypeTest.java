package dev.rollout.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WeightsDtypeTest {
    @Test
    void parsesTheFlagsSpellings() {
        assertEquals(WeightsDtype.FP32, WeightsDtype.parse("fp32"));
        assertEquals(WeightsDtype.BF16, WeightsDtype.parse("BF16"));
        assertEquals(WeightsDtype.BF16, WeightsDtype.parse("bfloat16"));
        assertEquals("bf16", WeightsDtype.BF16.toString());
    }

    @Test
    void anUnknownDtypeSaysWhatIsAccepted() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightsDtype.parse("fp16"));
        assertTrue(e.getMessage().contains("fp32 or bf16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> WeightsDtype.parse(null));
    }
}
