package dev.rollout.trainer.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.rollout.client.ServerAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServerLoadTest {
    private final ServerAddress a = new ServerAddress("a", 1);
    private final ServerAddress b = new ServerAddress("b", 1);
    private final ServerLoad load = new ServerLoad();

    @Test
    void theServerWithFewerTokensInFlightGetsTheNextGroup() {
        load.add(a, 512);
        load.add(b, 256);
        assertEquals(b, load.leastLoaded(List.of(a, b)));
    }

    @Test
    void finishedCompletionsFreeTheirBudget() {
        load.add(a, 512);
        load.add(b, 256);
        load.remove(a, 384);
        assertEquals(a, load.leastLoaded(List.of(a, b)));
    }

    @Test
    void aTieGoesToTheFirstListed() {
        assertEquals(a, load.leastLoaded(List.of(a, b)));
        assertEquals(b, load.leastLoaded(List.of(b, a)));
    }

    @Test
    void aServerNotAvailableIsNeverPicked() {
        load.add(a, 512);
        assertEquals(a, load.leastLoaded(List.of(a)));
        assertNull(load.leastLoaded(List.of()));
    }
}
