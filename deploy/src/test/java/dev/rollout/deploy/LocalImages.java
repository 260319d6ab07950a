package dev.rollout.deploy;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.model.Image;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.images.builder.ImageFromDockerfile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The images the tests run, built from deploy/images on the local base images (no registry is needed). An image is
 * tagged with a digest of everything that goes into it, so it is built once and reused until the Dockerfile, the
 * base image or a jar changes; older test builds of the same image are removed when a new one is made.
 */
final class LocalImages {
    /** Made by deploy/images/build-base-image.sh. */
    static final String BASE_IMAGE = System.getenv().getOrDefault("ROLLOUT_BASE_IMAGE", "rollout/base-jre:17-bookworm");
    static final String PROMETHEUS_IMAGE = System.getenv().getOrDefault("ROLLOUT_PROMETHEUS_IMAGE", "rollout/prometheus:bookworm");

    private static final String TAG_PREFIX = "test-";
    private static Path context;
    private static final Map<String, String> BUILT = new HashMap<>();

    private LocalImages() {
    }

    /** The tag of the image built from deploy/images/{name}.Dockerfile, building it if needed. */
    static synchronized String build(String name) throws IOException {
        if (BUILT.containsKey(name)) {
            return BUILT.get(name);
        }
        DockerAvailability.requireImage(BASE_IMAGE);
        if (context == null) {
            context = ImageContext.assemble();
        }
        Path dockerfile = DeployPaths.dockerfile(name);
        String repository = "rollout/" + name;
        String tag = repository + ":" + TAG_PREFIX + digest(dockerfile, context);
        if (!DockerAvailability.exists(tag)) {
            new ImageFromDockerfile(tag, false)
                    .withFileFromPath(".", context)
                    .withFileFromPath("Dockerfile", dockerfile)
                    .withBuildArg("BASE_IMAGE", BASE_IMAGE)
                    .get();
            removeOtherTestBuilds(repository, tag);
        }
        BUILT.put(name, tag);
        return tag;
    }

    private static String digest(Path dockerfile, Path context) throws IOException {
        MessageDigest sha = sha256();
        sha.update(Files.readAllBytes(dockerfile));
        String baseId = DockerClientFactory.instance().client().inspectImageCmd(BASE_IMAGE).exec().getId();
        sha.update(baseId.getBytes(StandardCharsets.UTF_8));
        List<Path> files;
        try (Stream<Path> walk = Files.walk(context)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        byte[] buffer = new byte[1 << 20];
        for (Path file : files) {
            sha.update(context.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    sha.update(buffer, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    }

    private static void removeOtherTestBuilds(String repository, String keep) {
        DockerClient docker = DockerClientFactory.instance().client();
        for (Image image : docker.listImagesCmd().withImageNameFilter(repository).exec()) {
            String[] tags = image.getRepoTags() == null ? new String[0] : image.getRepoTags();
            for (String tag : tags) {
                if (tag.startsWith(repository + ":" + TAG_PREFIX) && !tag.equals(keep)) {
                    try {
                        docker.removeImageCmd(tag).exec();
                    } catch (ConflictException e) {
                        // a container outside this run still uses it: leave it to whoever made that container
                    }
                }
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
