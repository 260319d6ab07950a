package dev.rollout.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

/** What the Dockerfiles under deploy/images declare. */
final class Dockerfiles {
    private Dockerfiles() {
    }

    /** The ports of the image's EXPOSE lines. */
    static Set<Integer> exposedPorts(String image) throws IOException {
        Set<Integer> ports = new TreeSet<>();
        for (String line : Files.readAllLines(DeployPaths.dockerfile(image))) {
            if (line.startsWith("EXPOSE ")) {
                Arrays.stream(line.substring("EXPOSE ".length()).trim().split("\\s+")).map(Integer::parseInt).forEach(ports::add);
            }
        }
        return ports;
    }
}
