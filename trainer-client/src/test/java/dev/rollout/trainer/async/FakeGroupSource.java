package dev.rollout.trainer.async;

import dev.rollout.client.ServerAddress;
import dev.rollout.proto.v1.Completion;
import dev.rollout.proto.v1.FinishReason;
import dev.rollout.proto.v1.Prompt;
import dev.rollout.proto.v1.SamplingParams;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Servers without a model for the producer: each group's completions arrive after the server's delay, the first
 * half of each completion's tokens from the weights held when the group started and the rest from those held when
 * it finishes (as a server that swaps weights under running sequences reports them). A server can be made to fail
 * its groups, to hang (never answer, nor a probe), to serve a fixed old version, or to hold each group until the test
 * releases it; telling the source a server is lost can be made to wait, as the remote source does through a push.
 */
final class FakeGroupSource implements GroupSource {
    static final int TOKENS = 4;

    /** How one fake server behaves. */
    static final class Server {
        final ServerAddress address;
        volatile long delayMillis;
        volatile boolean hang;
        volatile Status failWith;
        volatile boolean lostFailure = true;
        /** Set: every token of the next group started reports this version (a server that ignored a push). */
        volatile Long staleVersionOnce;
        /** Set: a group's completions arrive only when the test calls {@link #release} with its seed. */
        volatile boolean held;
        final List<Long> started = new CopyOnWriteArrayList<>();
        private final Map<Long, Runnable> waiting = new ConcurrentHashMap<>();

        /** Lets the held group with {@code seed} finish (its completions arrive at once). */
        void release(long seed) {
            Runnable finish = waiting.remove(seed);
            if (finish == null) {
                throw new IllegalStateException(address + " holds no group with seed " + seed + ": " + started);
            }
            finish.run();
        }

        Server(String name, long delayMillis) {
            this.address = new ServerAddress(name, 1);
            this.delayMillis = delayMillis;
        }
    }

    final List<Server> servers;
    final AtomicLong version = new AtomicLong();
    final List<ServerAddress> lost = new CopyOnWriteArrayList<>();
    /** {@link #lost} waits for this to open before it marks the server down. */
    volatile CountDownLatch lostGate = new CountDownLatch(0);
    private final Map<ServerAddress, Boolean> down = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);

    FakeGroupSource(long version, Server... servers) {
        this.version.set(version);
        this.servers = List.of(servers);
    }

    Server server(ServerAddress a) {
        return servers.stream().filter(s -> s.address.equals(a)).findFirst().orElseThrow();
    }

    @Override
    public List<ServerAddress> available() {
        return servers.stream().map(s -> s.address).filter(a -> !down.containsKey(a)).toList();
    }

    @Override
    public Runnable start(ServerAddress address, Prompt prompt, SamplingParams sampling, long minWeightVersion, Listener listener) {
        Server s = server(address);
        s.started.add(sampling.getSeed());
        if (s.hang) {
            return () -> { };
        }
        long startVersion = s.staleVersionOnce != null ? s.staleVersionOnce : version.get();
        boolean stale = s.staleVersionOnce != null;
        s.staleVersionOnce = null;
        Runnable finish = () -> {
            if (s.failWith != null) {
                listener.failed(s.failWith.asRuntimeException(), s.lostFailure);
                return;
            }
            long endVersion = stale ? startVersion : version.get();
            for (int i = 0; i < sampling.getN(); i++) {
                Completion.Builder c = Completion.newBuilder().setSampleIndex(sampling.getN() - 1 - i)
                        .setText(prompt.getText()).setWeightVersion(startVersion).setFinishReason(FinishReason.FINISH_REASON_LENGTH);
                for (int t = 0; t < TOKENS; t++) {
                    c.addTokenIds(t).addLogprobs(-1f).addTokenWeightVersions(t < TOKENS / 2 ? startVersion : endVersion);
                }
                listener.completion(c.build());
            }
            listener.done();
        };
        if (s.held) {
            s.waiting.put(sampling.getSeed(), finish);
            return () -> s.waiting.remove(sampling.getSeed());
        }
        var task = timer.schedule(finish, s.delayMillis, TimeUnit.MILLISECONDS);
        return () -> task.cancel(false);
    }

    @Override
    public boolean answers(ServerAddress server) {
        return !server(server).hang;
    }

    @Override
    public void lost(ServerAddress server, String why) {
        lost.add(server);
        try {
            lostGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        down.put(server, true);
    }

    void close() {
        timer.shutdownNow();
    }

    static List<Long> allStarted(FakeGroupSource source) {
        List<Long> out = new ArrayList<>();
        source.servers.forEach(s -> out.addAll(s.started));
        return out;
    }
}
