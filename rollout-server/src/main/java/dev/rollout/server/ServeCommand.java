package dev.rollout.server;

import ai.djl.Device;
import dev.rollout.engine.CacheInfo;
import dev.rollout.model.AttentionBackend;
import dev.rollout.model.Devices;
import dev.rollout.model.NativeAllocator;
import dev.rollout.model.TorchThreads;
import dev.rollout.model.WeightsDtype;
import dev.rollout.engine.Engine;
import dev.rollout.engine.EngineConfig;
import dev.rollout.engine.InflightWeightUpdate;
import dev.rollout.server.sync.AdapterServing;
import dev.rollout.model.Devices;
import dev.rollout.model.TorchThreads;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code rollout-server serve}: load a model, start the engine, serve gRPC and /metrics until SIGTERM. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Serve a model over gRPC (rollout.v1.RolloutService, grpc.health.v1.Health, server reflection) "
                + "with Prometheus metrics. SIGTERM or Ctrl-C drains: new requests are refused, requests in flight get "
                + "--shutdown-grace-seconds to finish, the rest are aborted, and the process exits 0.")
public final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--model", defaultValue = "tiny", paramLabel = "tiny|30m|135m|DIR",
            description = "A preset with random weights (tiny: the embedded model, 30m, 135m) or a Hugging Face checkpoint "
                    + "directory (config.json, *.safetensors, tokenizer.json). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors) to serve from the start "
                    + "on the model's weights, as --adapter-serving says; adapter syncs replace it and a sync without "
                    + "an adapter (full or partial) drops it.")
    Path adapter;

    @Option(names = "--adapter-serving", defaultValue = "merged", paramLabel = "merged|unmerged",
            description = "How a LoRA adapter (--adapter or an adapter sync) is served over the kept base. merged: each "
                    + "adapter version is merged into new copies of the targeted matrices (W + scale * B * A; the rest "
                    + "is shared with the base), so a decode step costs what the base's does, for a second copy of the "
                    + "targeted matrices. unmerged: every step adds scale * (x A^T) B^T to each targeted projection, "
                    + "holding only the adapter, for slower steps. Default: ${DEFAULT-VALUE}.")
    String adapterServing;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of a preset's random weights. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--port", defaultValue = "50051", description = "gRPC port (0: any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--metrics-port", defaultValue = "9400",
            description = "HTTP port of /metrics in Prometheus text format (0: any free port). Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Where weights and KV cache live: auto picks the GPU when one is visible. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--scheduler", defaultValue = "continuous", paramLabel = "continuous|static",
            description = "continuous: paged KV cache, sequences join and leave every step. static: padded generate()-style "
                    + "batches, the baseline. Default: ${DEFAULT-VALUE}.")
    String scheduler;

    @Option(names = "--attention-backend", defaultValue = "auto", paramLabel = "auto|java|tensor",
            description = "How paged attention runs: java (plain Java SIMD over the KV cache in CPU memory; needs the CPU "
                    + "and --add-modules jdk.incubator.vector), tensor (libtorch tensor ops, what a GPU runs), auto (java "
                    + "where it can run, tensor elsewhere). Default: ${DEFAULT-VALUE}.")
    String attentionBackend;

    @Option(names = "--weights-dtype", defaultValue = "fp32", paramLabel = "fp32|bf16",
            description = "fp32: the weights as trained, log-probs equal to the trainer's. bf16 (CPU only): projections and "
                    + "LM head rounded to bf16, decode steps of up to 8 sequences read half the bytes (faster at 1-8 "
                    + "sequences; log-probs move by the rounding, see docs/benchmarks.md). Default: ${DEFAULT-VALUE}.")
    String weightsDtype;

    @Option(names = "--block-size", defaultValue = "16", description = "Tokens per KV cache block. Default: ${DEFAULT-VALUE}.")
    int blockSize;

    @Option(names = "--num-blocks", defaultValue = "0",
            description = "KV cache blocks; 0 sizes the cache from --max-memory-percent. Default: ${DEFAULT-VALUE}.")
    int numBlocks;

    @Option(names = "--max-memory-percent", defaultValue = "0.9",
            description = "Fraction (0, 1] of the memory left after weights and activations that the KV cache may take "
                    + "(on CPU: of what this JVM process may use). Default: ${DEFAULT-VALUE}.")
    double maxMemoryPercent;

    @Option(names = "--cpu-kv-cache-space", defaultValue = "4GiB", converter = LongByteSize.class, paramLabel = "SIZE",
            description = "On the CPU, the most memory the KV cache takes when --num-blocks is 0 (bytes, or with a "
                    + "KiB/MiB/GiB suffix), as vLLM's CPU backend: a CPU's RAM is shared with the rest of the machine. A large "
                    + "cache takes memory only as its blocks are first used. Ignored on a GPU. Default: ${DEFAULT-VALUE}.")
    long cpuKvCacheSpace;

    @Option(names = "--max-batch-tokens", defaultValue = "2048",
            description = "Token budget of one engine step (prefill chunks plus one token per decoding sequence). Default: ${DEFAULT-VALUE}.")
    int maxBatchTokens;

    @Option(names = "--max-num-seqs", defaultValue = "256", description = "Sequences in one engine step at most. Default: ${DEFAULT-VALUE}.")
    int maxNumSeqs;

    @Option(names = "--max-n", defaultValue = "" + ServerOptions.DEFAULT_MAX_N,
            description = "Largest completions-per-prompt (sampling.n) a request may ask for. Default: ${DEFAULT-VALUE}.")
    int maxN;

    @Option(names = "--max-queued-requests", defaultValue = "" + ServerOptions.DEFAULT_MAX_QUEUED_REQUESTS,
            description = "Generation requests held at once (running or waiting); beyond it requests get RESOURCE_EXHAUSTED. "
                    + "Default: ${DEFAULT-VALUE}.")
    int maxQueuedRequests;

    @Option(names = "--max-request-sequences", defaultValue = "" + ServerOptions.DEFAULT_MAX_REQUEST_SEQUENCES,
            description = "Most sequences (prompts x n) one generation request may ask for; larger requests get "
                    + "INVALID_ARGUMENT before any work. Default: ${DEFAULT-VALUE}.")
    int maxRequestSequences;

    @Option(names = "--max-queued-sequences", defaultValue = "" + ServerOptions.DEFAULT_MAX_QUEUED_SEQUENCES,
            description = "Most sequences held at once over all generation requests (running or waiting); a request that "
                    + "would go beyond gets RESOURCE_EXHAUSTED. At least --max-request-sequences. Default: ${DEFAULT-VALUE}.")
    int maxQueuedSequences;

    @Option(names = "--max-sync-wait-seconds", defaultValue = "" + ServerOptions.DEFAULT_MAX_SYNC_WAIT_SECONDS,
            description = "With --inflight-weight-update wait: how long a weight sync waits for the generation requests in "
                    + "flight to finish; then they are aborted (their completions end ABORTED) and the new weights "
                    + "applied. Default: ${DEFAULT-VALUE}.")
    int maxSyncWaitSeconds;

    @Option(names = "--inflight-weight-update", defaultValue = "recompute", paramLabel = "keep|recompute|wait",
            description = "What a weight sync does to the sequences running when it lands; it never waits for them unless "
                    + "wait. keep: they go on with the new weights over the K/V computed by the old ones (cheapest; the "
                    + "next tokens see a slightly inconsistent cache). recompute: their K/V is dropped and prefilled again "
                    + "from prompt + generated tokens under the new weights, so every later token comes from exactly the "
                    + "new policy (costs one prefill per running sequence). wait: the sync waits for the generation "
                    + "requests in flight (at most --max-sync-wait-seconds) and holds new ones, so no completion spans "
                    + "two versions. Each token's version is in Completion.token_weight_versions. Default: ${DEFAULT-VALUE}.")
    String inflightWeightUpdate;

    @Option(names = "--max-inbound-message-size", defaultValue = "256MiB", converter = ByteSize.class, paramLabel = "SIZE",
            description = "Largest gRPC message the server accepts (a GenerateBatch request, one SyncWeights chunk): "
                    + "bytes, or with a KiB/MiB/GiB suffix, below 2GiB. Clients must keep weight chunks under it. "
                    + "Default: ${DEFAULT-VALUE}.")
    int maxInboundMessageSize;

    @Option(names = "--auth-token-file", paramLabel = "FILE",
            description = "File holding a bearer token: SyncWeights and ResetPrefixCache then require "
                    + "'authorization: Bearer <token>' metadata. Without it nothing is checked.")
    Path authTokenFile;

    @Option(names = "--auth-all", description = "Require the token on every RPC (the health service excepted, for probes).")
    boolean authAll;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS with this certificate chain (needs --tls-key).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM",
            description = "The unencrypted private key of --tls-cert: PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 RSA (BEGIN RSA PRIVATE KEY).")
    Path tlsKey;

    @Option(names = "--sync-idle-timeout-seconds", defaultValue = "" + ServerOptions.DEFAULT_SYNC_IDLE_TIMEOUT_SECONDS,
            description = "A SyncWeights stream that sends no message for this long is abandoned (DEADLINE_EXCEEDED, old "
                    + "weights kept), so a stalled trainer cannot hold the sync that other trainers need. Default: ${DEFAULT-VALUE}.")
    long syncIdleTimeoutSeconds;

    @Option(names = "--shutdown-grace-seconds", defaultValue = "30",
            description = "On SIGTERM, how long requests in flight may take to finish before they are aborted. Default: ${DEFAULT-VALUE}.")
    int shutdownGraceSeconds;

    @Override
    public Integer call() throws Exception {
        if (authAll && authTokenFile == null) {
            throw new IllegalArgumentException("--auth-all needs --auth-token-file");
        }
        String token = authTokenFile == null ? null : Files.readString(authTokenFile, StandardCharsets.UTF_8).strip();
        int threads = TorchThreads.configure();
        log.info("native memory allocator: {}", NativeAllocator.describe());
        EngineConfig.SchedulerKind schedulerKind = parseScheduler(scheduler);
        Device dev = Devices.parse(device);
        String deviceName = dev.isGpu() ? "gpu:" + dev.getDeviceId() : "cpu";
        ServerOptions options = new ServerOptions(port, maxN, maxQueuedRequests, maxRequestSequences, maxQueuedSequences,
                maxSyncWaitSeconds, maxInboundMessageSize, token, authAll,
                tlsCert, tlsKey, deviceName, schedulerKind.name().toLowerCase(Locale.ROOT), Duration.ofSeconds(syncIdleTimeoutSeconds),
                InflightWeightUpdate.parse(inflightWeightUpdate), AdapterServing.parse(adapterServing));

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        WeightsDtype dtype = WeightsDtype.parse(weightsDtype);
        ModelLoader.Loaded loaded = ModelLoader.load(model, seed, dev);
        log.info(dtype.applyTo(loaded.served().model()));
        Engine engine = new Engine(loaded.served().model(), new EngineConfig(blockSize, numBlocks, maxMemoryPercent, maxBatchTokens,
                maxNumSeqs, schedulerKind, dev).withCpuKvCacheBytes(cpuKvCacheSpace)
                .withAttentionBackend(AttentionBackend.parse(attentionBackend)), registry);
        RolloutServer server = RolloutServer.start(loaded.served(), engine, loaded.manager(), registry, options);
        if (adapter != null) {
            try {
                server.loadAdapter(adapter);
            } catch (IOException e) {
                server.close();
                throw e;
            }
            log.info("serving the LoRA adapter {} on the base, {}", adapter, options.adapterServing().label());
        }
        MetricsServer metrics = new MetricsServer(registry, metricsPort);
        CacheInfo cache = engine.cacheInfo();
        log.info("serving {} ({}, {} parameters) on {} ({} libtorch thread(s) per op) with the {} scheduler: "
                        + "KV cache {} blocks x {} tokens = {} bytes ({} MiB); gRPC on port {}{}{}, /metrics on port {}",
                loaded.served().modelId(), loaded.served().model().config().architecture(), loaded.served().model().config().parameterCount(),
                deviceName, threads, options.scheduler(), cache.numBlocks(), cache.blockSize(), cache.bytes(), cache.bytes() >> 20,
                server.port(), tlsCert != null ? " (TLS)" : "",
                token != null ? (authAll ? ", token required on every RPC" : ", token required on SyncWeights/ResetPrefixCache") : "",
                metrics.port());

        CountDownLatch stopped = new CountDownLatch(1);
        Runnable drain = () -> {
            log.info("draining: refusing new requests, waiting up to {} s for those in flight", shutdownGraceSeconds);
            try {
                server.drain(Duration.ofSeconds(shutdownGraceSeconds));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                metrics.close();
                loaded.close();
                log.info("stopped");
                stopped.countDown();
            }
        };
        // Handling the signals ourselves (not a shutdown hook) lets a drained server exit 0 instead of 143.
        for (String signal : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(signal), s -> {
                if (stopped.getCount() > 0) {
                    new Thread(drain, "rollout-drain").start();
                }
            });
        }
        stopped.await();
        return 0;
    }

    static EngineConfig.SchedulerKind parseScheduler(String value) {
        return switch (value) {
            case "continuous" -> EngineConfig.SchedulerKind.CONTINUOUS;
            case "static" -> EngineConfig.SchedulerKind.STATIC;
            default -> throw new IllegalArgumentException("--scheduler must be continuous or static, got '" + value + "'");
        };
    }

    /** "268435456", "256MiB", "64KiB", "1GiB" (also KB/MB/GB, K/M/G, all binary), below 2 GiB. */
    static final class ByteSize implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            long bytes = LongByteSize.parse(value);
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("'" + value + "' must be between 1 byte and 2GiB - 1");
            }
            return (int) bytes;
        }
    }

    /** A size as {@link ByteSize} reads it, of any magnitude. */
    static final class LongByteSize implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return parse(value);
        }

        static long parse(String value) {
            String v = value.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
            int shift = 0;
            if (v.endsWith("K")) {
                shift = 10;
            } else if (v.endsWith("M")) {
                shift = 20;
            } else if (v.endsWith("G")) {
                shift = 30;
            }
            if (shift != 0) {
                v = v.substring(0, v.length() - 1);
            }
            long bytes;
            try {
                bytes = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + value + "' is not a size (e.g. 268435456, 64MiB, 4GiB)");
            }
            if (bytes <= 0 || bytes > (Long.MAX_VALUE >> shift)) {
                throw new IllegalArgumentException("'" + value + "' must be a positive size");
            }
            return bytes << shift;
        }
    }
}
