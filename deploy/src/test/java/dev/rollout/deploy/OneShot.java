package dev.rollout.deploy;

import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

import java.time.Duration;

/** Runs one command in a fresh container of an image, in place of its entry point. */
final class OneShot {
    private OneShot() {
    }

    /** The command's output (stdout and stderr) once it has exited. */
    static String run(String image, String... command) {
        try (GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))
                .withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint(command))
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))) {
            container.start();
            return container.getLogs().trim();
        }
    }
}
