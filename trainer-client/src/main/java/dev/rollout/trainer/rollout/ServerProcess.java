package dev.rollout.trainer.rollout;

import dev.rollout.model.TorchThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A rollout server started as a child process of this JVM (the demo's), with the same classpath, its output in a log
 * file. It is stopped with SIGTERM (the server drains) when {@link #close} runs, and by a shutdown hook if this JVM is
 * interrupted, so no server outlives the demo.
 */
public final class ServerProcess implements AutoCloseable {
    private final Process process;
    private final Thread hook;
    private final Path log;

    private ServerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
        this.hook = new Thread(this::stop, "rollout-server-stopper");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts {@code rollout-server serve} with these arguments; fails at once, naming the port, if a port is taken. */
    public static ServerProcess start(List<String> serveArgs, int port, int metricsPort, Path log) throws IOException {
        return start(List.of(), serveArgs, port, metricsPort, log);
    }

    /** As {@link #start(List, int, int, Path)}, the java command run through {@code launcher} (e.g. taskset -c 0). */
    public static ServerProcess start(List<String> launcher, List<String> serveArgs, int port, int metricsPort, Path log)
            throws IOException {
        requireFree(port, "--port");
        requireFree(metricsPort, "--metrics-port");
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx2g");
        cmd.add("-D" + TorchThreads.PROPERTY + "=" + System.getProperty(TorchThreads.PROPERTY, "1"));
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.rollout.server.Main");
        cmd.add("serve");
        cmd.addAll(serveArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        return new ServerProcess(pb.start(), log);
    }

    static void requireFree(int port, String option) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(port));
        } catch (IOException e) {
            throw new IOException("port " + port + " is taken (another rollout-server or demo running?); choose another with "
                    + option + " PORT", e);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path log() {
        return log;
    }

    public long pid() {
        return process.pid();
    }

    /** SIGTERM, a few seconds to drain, then SIGKILL. Returns the exit code (or -1 when it had to be killed). */
    public int stop() {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        process.destroy();
        try {
            if (process.waitFor(10, TimeUnit.SECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
        return -1;
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook is running or ran
        }
    }
}
