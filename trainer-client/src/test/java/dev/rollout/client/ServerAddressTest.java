package dev.rollout.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ServerAddressTest {
    @Test
    void parsesHostAndPort() {
        assertEquals(new ServerAddress("localhost", 50051), ServerAddress.parse("localhost:50051"));
    }

    @Test
    void parsesBracketedIpv6() {
        ServerAddress a = ServerAddress.parse("[::1]:7000");
        assertEquals(new ServerAddress("::1", 7000), a);
        assertEquals("[::1]:7000", a.toString());
    }

    @Test
    void parsesACommaSeparatedList() {
        assertEquals(List.of(new ServerAddress("a", 1), new ServerAddress("b", 2)), ServerAddress.parseList("a:1, b:2"));
    }

    @Test
    void refusesAMissingPortNamingTheInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse("gpu-node-3"));
        assertTrue(e.getMessage().contains("gpu-node-3"), e.getMessage());
    }

    @Test
    void refusesAPortOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse("host:70000"));
    }
}
