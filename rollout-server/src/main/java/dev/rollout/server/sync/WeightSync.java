package dev.rollout.server.sync;

import ai.djl.ndarray.NDManager;
import com.google.protobuf.ByteString;
import dev.rollout.engine.Engine;
import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.lora.LoraConfig;
import dev.rollout.model.CausalLM;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import dev.rollout.proto.v1.LoraAdapterSpec;
import dev.rollout.proto.v1.SyncWeightsHeader;
import dev.rollout.proto.v1.SyncWeightsResponse;
import dev.rollout.weights.HostTensor;
import io.grpc.Status;
import io.grpc.StatusException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies weight syncs to the serving model, one at a time. A second sync that starts while one is in progress is
 * refused with {@code ABORTED} rather than queued: versions must strictly increase, so two trainers pushing at once
 * is a bug to surface, and queueing would hold a second full staging copy of the weights in memory. The client may
 * retry once the first has finished.
 */
public final class WeightSync {
    private static final Logger log = LoggerFactory.getLogger(WeightSync.class);
    private final Engine engine;
    private final CausalLM model;
    private final NDManager manager;
    private final Map<String, long[]> expected = new LinkedHashMap<>();
    private final Semaphore inProgress = new Semaphore(1);
    private final WeightSwapBarrier barrier;
    private final InflightWeightUpdate inflight;
    private final Timer syncTime;
    private final Counter syncBytes;
    private final Duration idleTimeout;
    private final ScheduledThreadPoolExecutor timers;
    /** The content digest the serving version was synced with; empty for the initial weights or a sync without one. */
    private volatile ByteString servingDigest = ByteString.EMPTY;
    private final AdapterSync adapters;

    /**
     * @param manager     where new weights are created: the device the model serves on
     * @param barrier     what a swap waits on with {@code inflight} WAIT; the other modes swap between two steps at once
     * @param idleTimeout how long a sync stream may go without a message before it is abandoned
     * @param adapterServing how adapter syncs are served: merged into copies of the targeted matrices, or unmerged
     */
    public WeightSync(Engine engine, CausalLM model, NDManager manager, WeightSwapBarrier barrier,
                      InflightWeightUpdate inflight, MeterRegistry registry, Duration idleTimeout,
                      AdapterServing adapterServing) {
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("--sync-idle-timeout must be positive, got " + idleTimeout);
        }
        this.idleTimeout = idleTimeout;
        // One daemon thread that exists only while a sync is in progress (it times out when idle): nothing to close.
        this.timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "rollout-sync-idle-timer");
            t.setDaemon(true);
            return t;
        });
        timers.setKeepAliveTime(10, TimeUnit.SECONDS);
        timers.allowCoreThreadTimeOut(true);
        timers.setRemoveOnCancelPolicy(true);
        this.engine = engine;
        this.barrier = barrier;
        this.inflight = inflight;
        this.model = model;
        this.manager = manager;
        this.syncTime = Timer.builder("rollout.weight.sync").description("successful weight syncs, from the stream's start to the swap")
                .register(registry);
        this.syncBytes = Counter.builder("rollout.weight.sync.bytes").description("tensor bytes received by successful weight syncs")
                .baseUnit("bytes").register(registry);
        for (ModelWeights.TensorShape t : ModelWeights.expectedTensors(model.config())) {
            expected.put(t.name(), t.shape());
        }
        this.adapters = new AdapterSync(model, manager, adapterServing);
    }

    /** Claims the right to sync; the caller must {@link #release()} when the stream ends, however it ends. */
    public WeightSyncSession begin() throws StatusException {
        if (!inProgress.tryAcquire()) {
            throw Status.ABORTED.withDescription("another weight sync is in progress; retry when it has finished").asException();
        }
        return new WeightSyncSession(expected, engine.weightVersion(), servingDigest, adapters);
    }

    /** How long a sync stream may go without a message before it is abandoned and the sync released. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Runs {@code task} once the idle timeout has passed, unless the returned future is cancelled first. */
    public ScheduledFuture<?> afterIdleTimeout(Runnable task) {
        return timers.schedule(task, idleTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    public void release() {
        inProgress.release();
    }

    /**
     * Builds the new weights off the engine thread (for a partial sync: the current ones with the sent tensors
     * replaced), then swaps them in between two engine steps: the next two, or with {@code wait} the first two with no
     * generation request in flight ({@link WeightSwapBarrier}). Must be called between {@link #begin()} and {@link #release()}.
     */
    public SyncWeightsResponse apply(WeightSyncSession.Staged staged, long startNanos) throws StatusException {
        if (staged.header().hasLora()) {
            AdapterSync.Prepared p = adapters.prepare(staged.header(), staged.tensors());
            swap(p.weights(), p.adapter(), staged.version(), () -> adapters.discard(p));
            adapters.commit(p, staged.version());
        } else {
            ModelWeights weights;
            try {
                weights = staged.partial() ? adapters.base().withReplaced(staged.tensors(), manager)
                        : ModelWeights.fromHost(model.config(), staged.tensors(), manager);
            } catch (IllegalArgumentException e) {
                throw Status.INVALID_ARGUMENT.withDescription("the synced weights do not fit the model: " + e.getMessage()).asException();
            }
            swap(weights, null, staged.version(), weights::close);
            adapters.baseReplaced();
        }
        servingDigest = staged.digest();
        long nanos = System.nanoTime() - startNanos;
        syncTime.record(nanos, TimeUnit.NANOSECONDS);
        syncBytes.increment(staged.bytesReceived());
        return SyncWeightsResponse.newBuilder()
                .setVersion(staged.version())
                .setTensorsUpdated(staged.tensors().size())
                .setBytesReceived(staged.bytesReceived())
                .setSeconds(nanos / 1e9)
                .build();
    }

    /**
     * Serves {@code weights} with {@code adapter} (null: none) between two engine steps, which with {@code wait} are the
     * first with no generation request in flight ({@link WeightSwapBarrier}); the engine handles the sequences running
     * as {@code inflight} says.
     */
    private void swap(ModelWeights weights, LoraAdapter adapter, long version, Runnable onFailure) throws StatusException {
        try {
            if (inflight == InflightWeightUpdate.WAIT) {
                barrier.swap(() -> {
                    engine.swapModel(weights, adapter, version, inflight);
                    return null;
                });
            } else {
                engine.swapModel(weights, adapter, version, inflight);
            }
        } catch (Exception e) {
            onFailure.run();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.warn("the weight swap to version {} failed; the old weights still serve", version, e);
            throw Status.UNAVAILABLE.withDescription("the weight swap was interrupted (the server may be shutting down); "
                    + "the old weights still serve: retry the sync").asException();
        }
    }

    /** Serves an adapter read from files (serve --adapter) at the current version, as an adapter sync would. */
    public void loadAdapter(LoraConfig config, Map<String, HostTensor> tensors) throws StatusException {
        if (!inProgress.tryAcquire()) {
            throw Status.ABORTED.withDescription("a weight sync is in progress").asException();
        }
        try {
            SyncWeightsHeader header = SyncWeightsHeader.newBuilder().setPartial(true).setLora(LoraAdapterSpec.newBuilder()
                    .setR(config.r()).setLoraAlpha((float) config.alpha()).setUseRslora(config.useRslora())
                    .addAllTargetModules(config.targetModuleNames())).build();
            AdapterSync.Prepared p = adapters.prepare(header, tensors);
            long version = engine.weightVersion();
            swap(p.weights(), p.adapter(), version, () -> adapters.discard(p));
            adapters.commit(p, version);
        } finally {
            inProgress.release();
        }
    }

    /** What a sync does to the sequences running when it lands (serve --inflight-weight-update). */
    public InflightWeightUpdate inflightWeightUpdate() {
        return inflight;
    }

    /** How adapters are served (serve --adapter-serving), for GetModelInfo. */
    public AdapterServing adapterServing() {
        return adapters.serving();
    }

    /** The active LoRA adapter, if any, for GetModelInfo. */
    public AdapterSync.State adapterState() {
        return adapters.state();
    }

    /** The model's tensors, shape by name, as a sync must send them. */
    public Map<String, long[]> expectedTensors() {
        return expected;
    }
}
