package dev.rollout.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.exception.NotFoundException;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

/**
 * The tests that build and run images need a Docker daemon and the local base images. In CI (env CI=true) their
 * absence fails the test, since .ci/run provides both; elsewhere the test is skipped with the reason.
 */
final class DockerAvailability {
    private DockerAvailability() {
    }

    static void requireDocker() {
        boolean available;
        try {
            available = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            available = false;
        }
        if (!available) {
            missing("no Docker daemon answers: install docker.io and start dockerd (.ci/run does both)");
        }
    }

    static void requireImage(String image) {
        requireDocker();
        if (!exists(image)) {
            missing("the local image " + image + " does not exist: run deploy/images/build-base-image.sh (as root) to build it");
        }
    }

    static boolean exists(String image) {
        try {
            DockerClientFactory.instance().client().inspectImageCmd(image).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    private static void missing(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why);
        }
        String reason = why + " (skipped outside CI; with CI=true this fails)";
        // Surefire keeps a class-level skip's reason in its XML report only: say it where a person looks
        System.err.println("SKIPPED: " + reason);
        Assumptions.abort(reason);
    }
}
