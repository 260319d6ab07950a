package dev.rollout.deploy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Docker build context of the server and trainer images, laid out as `mvn package` leaves it in
 * target/image: lib/ the third-party jars, app/ the project's. Made from the module's runtime classpath, so it
 * works whether the build stopped at `test` (reactor modules are classes folders, jarred here) or went on to
 * `package` (they are jars).
 */
final class ImageContext {
    /** A fixed time for entries of jars made here, so the same classes make the same bytes (and the same image). */
    private static final long FIXED_ENTRY_TIME = 946_684_800_000L; // 2000-01-01
    private static final Pattern PARENT = Pattern.compile("<parent>.*?</parent>", Pattern.DOTALL);
    private static final Pattern ARTIFACT_ID = Pattern.compile("<artifactId>\\s*([^<\\s]+)\\s*</artifactId>");

    private ImageContext() {
    }

    static Path assemble() throws IOException {
        Path context = DeployPaths.buildDir().resolve("image-context");
        Path lib = context.resolve("lib");
        Path app = context.resolve("app");
        deleteTree(context);
        Files.createDirectories(lib);
        Files.createDirectories(app);
        String classpath = Files.readString(DeployPaths.imageClasspathFile()).trim();
        List<Path> entries = new ArrayList<>();
        for (String entry : classpath.split(java.io.File.pathSeparator)) {
            entries.add(Path.of(entry));
        }
        entries.add(DeployPaths.classesDir());
        for (Path entry : entries) {
            if (!Files.exists(entry)) {
                continue; // a module without main classes has no classes folder, and nothing to contribute
            }
            if (Files.isDirectory(entry)) {
                // a reactor module's target/classes
                jar(entry, app.resolve(artifactId(entry.getParent().getParent()) + ".jar"));
            } else if (isReactorJar(entry)) {
                link(entry, app.resolve(entry.getFileName()));
            } else {
                link(entry, lib.resolve(entry.getFileName()));
            }
        }
        return context;
    }

    /** The artifactId in a module folder's pom.xml (the first one outside its parent element). */
    private static String artifactId(Path module) throws IOException {
        String pom = PARENT.matcher(Files.readString(module.resolve("pom.xml"))).replaceFirst("");
        Matcher m = ARTIFACT_ID.matcher(pom);
        if (!m.find()) {
            throw new IllegalStateException(module.resolve("pom.xml") + " names no artifactId");
        }
        return m.group(1);
    }

    /** A jar a sibling module built in this run (it sits in that module's target/). */
    private static boolean isReactorJar(Path jar) {
        return jar.getParent() != null && jar.getParent().getFileName().toString().equals("target");
    }

    private static void link(Path source, Path target) throws IOException {
        try {
            Files.createLink(target, source);
        } catch (FileSystemException | UnsupportedOperationException e) {
            // another file system (the Maven repository elsewhere): copy instead
            Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void jar(Path classes, Path jar) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jarOut = new JarOutputStream(out)) {
            for (Path file : files) {
                JarEntry entry = new JarEntry(classes.relativize(file).toString().replace('\\', '/'));
                entry.setTime(FIXED_ENTRY_TIME);
                jarOut.putNextEntry(entry);
                Files.copy(file, jarOut);
                jarOut.closeEntry();
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
