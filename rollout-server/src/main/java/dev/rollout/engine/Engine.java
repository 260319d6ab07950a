package dev.rollout.engine;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import dev.rollout.model.AttentionBackend;
import dev.rollout.lora.LoraAdapter;
import dev.rollout.model.CausalLM;
import dev.rollout.model.KvCache;
import dev.rollout.model.ModelConfig;
import dev.rollout.model.ModelWeights;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference engine: one thread runs steps (schedule, execute, sample, update) over everything submitted, and between
 * steps runs the commands other threads post (new requests, cancellations, weight swaps, prefix-cache resets). Every
 * public method is thread-safe. Futures complete and {@code onCompletion} callbacks run on the engine thread.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private final CausalLM model;
    private final EngineConfig config;
    private final NDManager manager;
    private final KvCache cache;
    private final BlockManager blocks;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final BatchSampler sampler = new BatchSampler(Runtime.getRuntime().availableProcessors());
    private final PromptCheck promptCheck;
    private final EngineTelemetry telemetry;
    private final CommandQueue commands = new CommandQueue(() -> this.closed);
    private final Set<RequestState> active = new LinkedHashSet<>();
    private final List<RequestState> resolved = new ArrayList<>();
    private final AtomicLong sequenceIds = new AtomicLong();
    private final Thread thread;

    private volatile boolean closed;
    private volatile long weightVersion;
    private volatile Runnable afterStep = () -> {};
    private boolean stopping;

    public Engine(CausalLM model, EngineConfig config, MeterRegistry registry) {
        this.model = model;
        ModelConfig modelConfig = model.config();
        this.config = config;
        Device device = model.weights().embed().getDevice();
        if (config.device() != null && !config.device().equals(device)) {
            throw new IllegalArgumentException("the engine is configured for " + config.device()
                    + " but the model's weights are on " + device + "; load the model on the engine's device");
        }
        this.manager = NDManager.newBaseManager(device);
        int numBlocks = config.numBlocks() > 0 ? config.numBlocks()
                : KvCacheSizing.numBlocks(modelConfig, config, model.weights().byteSize(), device);
        this.cache = new KvCache(modelConfig, numBlocks, config.blockSize(), manager);
        this.blocks = new BlockManager(numBlocks, config.blockSize());
        StopConditions stops = new StopConditions(modelConfig.eosTokenIds(), modelConfig.maxPositionEmbeddings());
        this.scheduler = config.scheduler() == EngineConfig.SchedulerKind.STATIC
                ? new StaticScheduler(blocks, stops, config.maxBatchTokens(), config.maxNumSeqs(),
                        modelConfig.maxPositionEmbeddings())
                : new ContinuousScheduler(blocks, stops, config.maxBatchTokens(), config.maxNumSeqs());
        AttentionBackend backend = config.attentionBackend().resolve(cache);
        this.runner = new ModelRunner(model, cache, manager, backend);
        this.promptCheck = new PromptCheck(modelConfig.vocabSize(), modelConfig.maxPositionEmbeddings(), config.blockSize(),
                numBlocks);
        this.telemetry = new EngineTelemetry(registry == null ? new SimpleMeterRegistry() : registry, numBlocks,
                KvCache.bytesPerBlock(modelConfig, config.blockSize()), () -> weightVersion);
        String why = config.attentionBackend() == AttentionBackend.AUTO && backend == AttentionBackend.TENSOR
                ? " (auto: " + AttentionBackend.javaUnavailableReason(cache) + ")" : "";
        LOG.info("engine: {} scheduler, {} KV blocks of {} tokens ({} MiB), max {} tokens and {} sequences per step, on {},"
                + " {} attention{}", config.scheduler(), numBlocks, config.blockSize(), cache.bytes() >> 20,
                config.maxBatchTokens(), config.maxNumSeqs(), device, backend, why);
        this.thread = new Thread(this::loop, "rollout-engine");
        this.commands.runOn(thread);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    // ---- the API ----

    /**
     * Queues a request. Throws {@link IllegalArgumentException} if it can never be served: an empty prompt, a token id
     * outside the vocabulary, or a prompt plus max_tokens beyond the model's context or the whole KV cache.
     */
    public RequestHandle submit(GenerationRequest request) {
        if (closed) {
            throw new IllegalStateException("the engine is closed");
        }
        SamplingParams p = request.params();
        List<int[]> prompts = request.prompts();
        for (int i = 0; i < prompts.size(); i++) {
            String problem = promptCheck.problem(i, prompts.get(i), p.maxTokens());
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
        }
        RequestState state = RequestState.of(request, sequenceIds, this::cancel);
        commands.post(() -> admit(state));
        return state;
    }

    public long weightVersion() {
        return weightVersion;
    }

    /**
     * Waits for the current step to end, then, before the next one: swaps the model's weights, closes what of the old
     * ones the new do not share ({@link ModelWeights#releaseFor}), sets the version (the sequences in flight sample
     * their next tokens under it) and resets the prefix cache (its K/V came from the old weights). The running
     * sequences go on over their K/V ({@code KEEP}, and {@code WAIT}, whose caller let nothing run) or have it
     * recomputed under the new weights ({@code RECOMPUTE}). The model's LoRA adapter, if any, stays.
     */
    public void swapWeights(ModelWeights newWeights, long version, InflightWeightUpdate mode) {
        commands.call(() -> {
            swapOnEngineThread(newWeights, model.adapter(), version, mode);
            return null;
        });
    }

    /**
     * As {@link #swapWeights}, and serves {@code newAdapter} over them (null: none), closing the old adapter unless it
     * is the new one: the weights and the adapter change together, between the same two steps.
     */
    public void swapModel(ModelWeights newWeights, LoraAdapter newAdapter, long version, InflightWeightUpdate mode) {
        commands.call(() -> {
            swapOnEngineThread(newWeights, newAdapter, version, mode);
            return null;
        });
    }

    private void swapOnEngineThread(ModelWeights newWeights, LoraAdapter newAdapter, long version,
            InflightWeightUpdate mode) {
        ModelWeights old = model.weights();
        LoraAdapter oldAdapter = model.adapter();
        model.setWeights(newWeights);
        model.setAdapter(newAdapter);
        old.releaseFor(newWeights); // what the new weights share with the old (a LoRA merge's base) stays
        if (oldAdapter != null && oldAdapter != newAdapter) {
            oldAdapter.close();
        }
        weightVersion = version;
        int carried = 0;
        for (RequestState r : active) {
            carried += r.weightsChanged(version);
        }
        if (mode == InflightWeightUpdate.RECOMPUTE) {
            scheduler.requeueRunningForRecompute();
        }
        int forgotten = blocks.resetPrefixCache();
        telemetry.carriedAcrossSwap(mode, carried);
        publish();
        LOG.info("weights swapped to version {}{}; {} sequence(s) carried across ({}); {} cached blocks forgotten",
                version, newAdapter != null ? " (base with a LoRA adapter)"
                        : newWeights.base() != null ? " (a LoRA adapter merged into the base)" : "", carried, mode.label(),
                forgotten);
    }

    /** Forgets every cached prefix block; returns how many there were. */
    public int resetPrefixCache() {
        return commands.call(blocks::resetPrefixCache);
    }

    public CacheInfo cacheInfo() {
        return new CacheInfo(config.blockSize(), blocks.numBlocks(), telemetry.freeBlocks(), cache.bytes());
    }

    public int runningSequences() {
        return telemetry.running();
    }

    public int waitingSequences() {
        return telemetry.waiting();
    }

    public EngineStats stats() {
        return telemetry.stats();
    }

    public EngineConfig config() {
        return config;
    }

    /**
     * Runs {@code hook} on the engine thread at the end of every step, once the step's completions are delivered and
     * the counts published, before the next step. Tests use it to hold the engine at a known point.
     */
    public void afterEachStep(Runnable hook) {
        this.afterStep = hook;
    }

    /** Aborts every request (their completions end ABORTED), stops the engine thread and frees the KV cache. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (commands.onEngineThread()) {
            stopping = true; // called from a callback: the loop ends after this step and cleans up
            return;
        }
        commands.postStop(() -> stopping = true);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the engine thread ----

    private void loop() {
        JniUtils.setGradMode(false);
        try {
            while (!stopping) {
                commands.runPending(!scheduler.hasWork());
                if (!stopping && scheduler.hasWork()) {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (RequestState r : List.copyOf(active)) {
                abortAll(r);
            }
            commands.runRemaining();
            publish();
            cache.close();
            manager.close();
            sampler.close();
            telemetry.close();
        }
    }

    /** One step; a failure anywhere in it fails the requests in flight (their blocks are freed) and the loop goes on. */
    private void step() {
        try {
            runStep();
        } catch (RuntimeException e) {
            LOG.error("engine step failed; failing every request in flight", e);
            for (RequestState r : List.copyOf(active)) {
                failAll(r, e);
            }
            publish();
        }
    }

    /** schedule → execute → sample → update; then the finished completions go to their requests. */
    private void runStep() {
        long start = System.nanoTime();
        ScheduledBatch batch = scheduler.schedule();
        telemetry.scheduled(blocks.numUsedBlocks());
        if (batch.isEmpty()) {
            throw new IllegalStateException("sequences are queued but none can be scheduled: " + scheduler.numRunning()
                    + " running, " + scheduler.numWaiting() + " waiting, " + blocks.numFreeBlocks() + " free blocks");
        }
        telemetry.computing(batch.numPromptTokens());
        float[] logits = runner.execute(batch);
        List<BatchSampler.Draw> draws = batch.draws(runner.vocabSize());
        Sampler.Sample[] sampled = sampler.sample(draws, logits, runner.vocabSize());
        List<Sequence> finished = scheduler.update(batch, sampled);
        telemetry.sampled(draws, scheduler);
        for (Sequence seq : finished) {
            deliver(seq);
        }
        // before publish(), which completes finished requests: their callers then see this step in the step timer
        telemetry.stepTook(System.nanoTime() - start);
        publish();
        afterStep.run();
    }

    private void admit(RequestState state) {
        if (stopping) {
            abortAll(state);
            publish();
            return;
        }
        active.add(state);
        for (Sequence seq : state.sequences) {
            seq.weightVersion = weightVersion;
        }
        int n = state.request.params().n();
        for (int i = 0; i < state.request.prompts().size(); i++) {
            scheduler.add(state.sequences.subList(i * n, (i + 1) * n));
            telemetry.admitted(state.request.prompts().get(i).length);
        }
        publish();
    }

    private void cancel(RequestState state) {
        if (closed) {
            return;
        }
        commands.post(() -> {
            if (active.contains(state)) {
                abortAll(state);
                publish();
            }
        });
    }

    private void abortAll(RequestState state) {
        for (Sequence seq : state.sequences) {
            if (!seq.isFinished()) {
                scheduler.abort(seq);
                deliver(seq);
            }
        }
    }

    private void failAll(RequestState state, RuntimeException error) {
        for (Sequence seq : state.sequences) {
            scheduler.abort(seq);
        }
        active.remove(state);
        state.fail(error);
    }

    private void deliver(Sequence seq) {
        if (seq.owner.deliver(seq, weightVersion)) {
            active.remove(seq.owner);
            resolved.add(seq.owner);
        }
    }

    private void publish() {
        telemetry.publish(scheduler, blocks);
        // Futures complete after the counts above are updated, so a caller sees the engine state its request left.
        for (RequestState r : resolved) {
            r.resolve();
        }
        resolved.clear();
    }
}
