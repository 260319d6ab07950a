package dev.rollout.chaos;

import ai.djl.Device;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.proto.v1.GenerateBatchRequest;
import dev.rollout.proto.v1.GenerateBatchResponse;
import dev.rollout.proto.v1.GetModelInfoRequest;
import dev.rollout.proto.v1.ModelInfo;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.proto.v1.SamplingParams;
import dev.rollout.proto.v1.TokenIds;
import dev.rollout.server.ModelLoader;
import dev.rollout.server.RolloutServer;
import dev.rollout.server.ServerOptions;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server under test and a channel to it: either a server this process starts on 127.0.0.1 (a free port, the
 * given model on the CPU) or one already running at a loopback {@code host:port}. Also the campaign's instruments:
 * model info, a fixed greedy probe whose log-probs identify the served weights, the server's RSS and its log.
 */
final class ChaosTarget implements AutoCloseable {
    /** The probe: greedy, EOS ignored, so its tokens and log-probs are a function of the weights alone. */
    static final GenerateBatchRequest PROBE = GenerateBatchRequest.newBuilder()
            .addPrompts(Prompt.newBuilder().setTokenIds(TokenIds.newBuilder().addAllIds(List.of(1, 2, 3, 4, 5))))
            .setSampling(SamplingParams.newBuilder().setMaxTokens(8).setTemperature(0f).setIgnoreEos(true))
            .setRequestId("chaos-probe").build();

    final ManagedChannel channel;
    final String address;
    final ServerLog log;
    private final Path statusFile;
    private final AutoCloseable owned;
    private final boolean inProcess;

    private ChaosTarget(ManagedChannel channel, String address, ServerLog log, Path statusFile, AutoCloseable owned, boolean inProcess) {
        this.channel = channel;
        this.address = address;
        this.log = log;
        this.statusFile = statusFile;
        this.owned = owned;
        this.inProcess = inProcess;
    }

    /** Starts {@code model} (a preset or directory) on the CPU on 127.0.0.1, with a KV cache of {@code numBlocks} blocks. */
    static ChaosTarget start(String model, long seed, int numBlocks, Path serverLogCopy) throws IOException {
        ServerLog log = ServerLog.thisProcess(serverLogCopy);
        ModelLoader.Loaded loaded;
        RolloutServer server;
        try {
            loaded = ModelLoader.load(model, seed, Device.cpu());
            Engine engine = new Engine(loaded.served().model(),
                    EngineConfig.defaults().withNumBlocks(numBlocks).withDevice(Device.cpu()), new SimpleMeterRegistry());
            server = RolloutServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), loaded.served(), engine,
                    loaded.manager(), new SimpleMeterRegistry(), ServerOptions.defaults(0));
        } catch (IOException | RuntimeException e) {
            log.close(); // stderr back, so the reason is seen
            throw e;
        }
        ManagedChannel channel = channel(InetAddress.getLoopbackAddress().getHostAddress(), server.port());
        AutoCloseable owned = () -> {
            server.close();
            loaded.close();
            log.close();
        };
        return new ChaosTarget(channel, "127.0.0.1:" + server.port() + " (in this process, " + model + ")", log,
                Path.of("/proc/self/status"), owned, true);
    }

    /** A server already running at {@code hostPort}, which must be a loopback address. */
    static ChaosTarget connect(String hostPort, Path serverLog, Long pid) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--target must be host:port, got '" + hostPort + "'");
        }
        String host = hostPort.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--target must be host:port, got '" + hostPort + "'");
        }
        if (!InetAddress.getByName(host).isLoopbackAddress()) {
            throw new IllegalArgumentException("--target " + hostPort + " is not a loopback address: the campaign floods its "
                    + "target with malformed and heavy requests, so it only runs against a server on this machine");
        }
        Path status = pid == null ? null : Path.of("/proc/" + pid + "/status");
        return new ChaosTarget(channel(host, port), hostPort, serverLog == null ? ServerLog.none() : ServerLog.tail(serverLog),
                status, () -> {}, false);
    }

    private static ManagedChannel channel(String host, int port) {
        return NettyChannelBuilder.forAddress(host, port).usePlaintext()
                .maxInboundMessageSize(ServerOptions.DEFAULT_MAX_INBOUND_MESSAGE_BYTES).build();
    }

    RolloutServiceGrpc.RolloutServiceBlockingStub blocking(long seconds) {
        return RolloutServiceGrpc.newBlockingStub(channel).withDeadlineAfter(seconds, TimeUnit.SECONDS);
    }

    RolloutServiceGrpc.RolloutServiceStub async() {
        return RolloutServiceGrpc.newStub(channel);
    }

    ModelInfo info() {
        return blocking(30).getModelInfo(GetModelInfoRequest.getDefaultInstance());
    }

    /** Whether the server still answers GetModelInfo within 30 s. */
    boolean alive() {
        try {
            info();
            return true;
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    /** The probe's completion: token ids and log-probs, which change whenever the served weights do. */
    Probe probe() {
        GenerateBatchResponse r = blocking(60).generateBatch(PROBE);
        var c = r.getCompletions(0);
        float[] logprobs = new float[c.getLogprobsCount()];
        for (int i = 0; i < logprobs.length; i++) {
            logprobs[i] = c.getLogprobs(i);
        }
        return new Probe(c.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray(), logprobs, c.getWeightVersion());
    }

    /**
     * Blocks free once the server is idle: waits up to {@code seconds} for every block to be free (aborted sequences
     * are freed by the engine thread, a moment after the client's status), and returns the blocks still held.
     */
    int blocksHeldWhenIdle(double seconds) throws InterruptedException {
        long until = System.nanoTime() + (long) (seconds * 1e9);
        while (true) {
            var kv = info().getKvCache();
            int held = kv.getNumBlocks() - kv.getFreeBlocks();
            if (held == 0 || System.nanoTime() > until) {
                return held;
            }
            Thread.sleep(100);
        }
    }

    /** The committed Java heap of a server in this process (part of its RSS that the JVM sizes itself); 0 for a remote one. */
    long javaHeapCommittedBytes() {
        return inProcess ? Runtime.getRuntime().totalMemory() : 0;
    }

    /** The server's resident memory in bytes; -1 where it cannot be read (a remote server without --target-pid). */
    long rssBytes() {
        if (statusFile == null) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(statusFile)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        owned.close();
    }

    /** What the probe generated. */
    record Probe(int[] tokenIds, float[] logprobs, long weightVersion) {
        boolean finite() {
            for (float lp : logprobs) {
                if (!Float.isFinite(lp)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return "tokens " + java.util.Arrays.toString(tokenIds) + ", log-probs " + java.util.Arrays.toString(logprobs);
        }

        /** Same tokens and log-probs within 1e-5: the same weights (other weights move them by far more). */
        boolean sameWeightsAs(Probe other) {
            if (!java.util.Arrays.equals(tokenIds, other.tokenIds) || logprobs.length != other.logprobs.length) {
                return false;
            }
            for (int i = 0; i < logprobs.length; i++) {
                float a = logprobs[i];
                float b = other.logprobs[i];
                if (!(Math.abs(a - b) <= 1e-5f) && Float.floatToIntBits(a) != Float.floatToIntBits(b)) {
                    return false;
                }
            }
            return true;
        }
    }
}
