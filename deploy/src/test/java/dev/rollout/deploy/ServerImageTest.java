package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;

/** The server image as built from deploy/images/server.Dockerfile, before any server runs in it. */
class ServerImageTest {
    private static String image;

    @BeforeAll
    static void buildImage() throws IOException {
        image = LocalImages.build("server");
    }

    @Test
    void runsAsTheUnprivilegedRolloutUser() {
        assertEquals("10001:10001", OneShot.run(image, "sh", "-c", "echo $(id -u):$(id -g)"));
    }

    @Test
    void preloadsJemallocIntoEveryProcess() {
        // grep reads its own memory map: jemalloc is there when LD_PRELOAD took
        String maps = OneShot.run(image, "sh", "-c", "grep -m 1 -o 'libjemalloc[^ ]*' /proc/self/maps || echo none");
        assertEquals("libjemalloc.so.2", maps);
    }

    @Test
    void jemallocKeepsThePagesItFreesAsTheLaunchersHaveIt() {
        assertEquals("dirty_decay_ms:-1", OneShot.run(image, "sh", "-c", "echo \"$MALLOC_CONF\""));
    }

    @Test
    void healthProbeFailsWhenNoServerListens() {
        String output = OneShot.run(image, "sh", "-c",
                "java -cp '/opt/rollout/lib/*' dev.rollout.deploy.HealthProbe --port 50051 --timeout-seconds 2; echo exit=$?");
        assertTrue(output.contains("health of localhost:50051: UNKNOWN"), output);
        assertTrue(output.endsWith("exit=1"), output);
    }
}
