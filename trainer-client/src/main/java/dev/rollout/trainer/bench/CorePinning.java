package dev.rollout.trainer.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server on core 0 and the trainer on core 1 with {@code taskset}, standing for the GPU node and the trainer node;
 * unpinned, with the reason, where that cannot be done.
 */
record CorePinning(List<String> serverLauncher, String description) {
    static final int SERVER_CORE = 0;
    static final int TRAINER_CORE = 1;

    static CorePinning unpinned(String why) {
        return new CorePinning(List.of(), "unpinned (" + why + ")");
    }

    /** Pins this JVM (all its threads) to the trainer's core, and returns the launcher prefix that pins the server. */
    static CorePinning apply(boolean wanted) {
        if (!wanted) {
            return unpinned("--no-pin");
        }
        if (Runtime.getRuntime().availableProcessors() < 2) {
            return unpinned("one core available");
        }
        String taskset = which("taskset");
        if (taskset == null) {
            return unpinned("taskset not found");
        }
        try {
            Process p = new ProcessBuilder(taskset, "-a", "-p", "-c", Integer.toString(TRAINER_CORE),
                    Long.toString(ProcessHandle.current().pid())).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return unpinned("taskset could not pin the trainer: " + out.trim());
            }
        } catch (IOException e) {
            return unpinned("taskset could not run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unpinned("interrupted");
        }
        return new CorePinning(List.of(taskset, "-c", Integer.toString(SERVER_CORE)),
                "server on core " + SERVER_CORE + ", trainer on core " + TRAINER_CORE + " (taskset)");
    }

    private static String which(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
