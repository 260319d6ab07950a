package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.time.Duration;

/** The server image as built from deploy/images/server.Dockerfile, before any server runs in it. */
class ServerImageTest {
    private static String image;

    @BeforeAll
    static void buildImage() throws IOException {
        image = LocalImages.build("server");
    }

    /** Runs one command in a fresh container of the image and returns its output once it exits. */
    private static String run(String... command) {
        try (GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))
                .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint(command))
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))) {
            container.start();
            return container.getLogs().trim();
        }
    }

    @Test
    void runsAsTheUnprivilegedRolloutUser() {
        assertEquals("10001:10001", run("sh", "-c", "echo $(id -u):$(id -g)"));
    }

    @Test
    void healthProbeFailsWhenNoServerListens() {
        String output = run("sh", "-c",
                "java -cp '/opt/rollout/lib/*' dev.rollout.deploy.HealthProbe --port 50051 --timeout-seconds 2; echo exit=$?");
        assertTrue(output.contains("health of localhost:50051: UNKNOWN"), output);
        assertTrue(output.endsWith("exit=1"), output);
    }
}
