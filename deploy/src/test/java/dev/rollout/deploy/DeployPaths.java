package dev.rollout.deploy;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the deploy files and build outputs are; Maven passes them as system properties (see deploy/pom.xml). */
final class DeployPaths {
    private DeployPaths() {
    }

    /** The deploy/ folder of the repository. */
    static Path deployDir() {
        Path dir = Path.of(System.getProperty("rollout.deploy.dir", System.getProperty("user.dir")));
        if (!Files.isRegularFile(dir.resolve("images/server.Dockerfile"))) {
            throw new IllegalStateException("cannot find deploy/images/server.Dockerfile under " + dir
                    + "; run the tests through Maven (module rollout-deploy) or set -Drollout.deploy.dir");
        }
        return dir;
    }

    static Path k8sDir() {
        return deployDir().resolve("k8s");
    }

    static Path prometheusConfig() {
        return deployDir().resolve("prometheus/prometheus.yml");
    }

    static Path dashboard() {
        return deployDir().resolve("grafana/rollout-dashboard.json");
    }

    static Path readme() {
        return deployDir().resolve("README.md");
    }

    static Path dockerfile(String image) {
        return deployDir().resolve("images/" + image + ".Dockerfile");
    }

    /** The module's target/ folder. */
    static Path buildDir() {
        return Path.of(System.getProperty("rollout.build.dir", deployDir().resolve("target").toString()));
    }

    /** This module's compiled main classes (the health probe). */
    static Path classesDir() {
        return Path.of(System.getProperty("rollout.classes.dir", buildDir().resolve("classes").toString()));
    }

    /** The runtime classpath of what the images run, written by maven-dependency-plugin's build-classpath. */
    static Path imageClasspathFile() {
        return Path.of(System.getProperty("rollout.image.classpath", buildDir().resolve("image-classpath.txt").toString()));
    }
}
