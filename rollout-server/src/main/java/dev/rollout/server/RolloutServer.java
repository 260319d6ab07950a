package dev.rollout.server;

import ai.djl.ndarray.NDManager;
import dev.rollout.engine.Engine;
import dev.rollout.lora.LoraConfig;
import dev.rollout.lora.PeftAdapterFiles;
import dev.rollout.proto.v1.RolloutServiceGrpc;
import dev.rollout.server.sync.WeightSwapBarrier;
import dev.rollout.server.sync.WeightSync;
import dev.rollout.weights.HostTensor;
import dev.rollout.weights.SafetensorsReader;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.StatusException;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gRPC endpoint: Netty transport, RolloutService behind the metrics and auth interceptors, the standard
 * health service and server reflection, each answering unparseable requests properly ({@link FailedCallInterceptor}). It owns the engine from here on and closes it on shutdown.
 */
public final class RolloutServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RolloutServer.class);

    private final Engine engine;
    private final Server server;
    private final HealthStatusManager health;
    private final ExecutorService responseExecutor;
    private final WeightSync weightSync;

    private RolloutServer(Engine engine, Server server, HealthStatusManager health, ExecutorService responseExecutor,
                          WeightSync weightSync) {
        this.engine = engine;
        this.weightSync = weightSync;
        this.server = server;
        this.health = health;
        this.responseExecutor = responseExecutor;
    }

    /**
     * Starts serving on {@code options.port()} over Netty. {@code weightsManager} is where synced weights are created
     * (the model's device).
     */
    public static RolloutServer start(ServedModel served, Engine engine, NDManager weightsManager, MeterRegistry registry,
                                      ServerOptions options) throws IOException {
        return start(new InetSocketAddress(options.port()), served, engine, weightsManager, registry, options);
    }

    /** As {@link #start(ServedModel, Engine, NDManager, MeterRegistry, ServerOptions)}, bound to {@code address} only. */
    public static RolloutServer start(InetSocketAddress address, ServedModel served, Engine engine, NDManager weightsManager,
                                      MeterRegistry registry, ServerOptions options) throws IOException {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
                .maxInboundMessageSize(options.maxInboundMessageBytes());
        if (options.tlsCert() != null) {
            try (InputStream cert = Files.newInputStream(options.tlsCert()); InputStream key = TlsKeys.pkcs8Pem(options.tlsKey())) {
                builder.useTransportSecurity(cert, key);
            }
        }
        return assemble(builder, served, engine, weightsManager, registry, options);
    }

    /**
     * Serves the same service to this JVM only, under {@code name} (colocated training: the trainer hosts the engine
     * and calls it through an in-process channel, with no network and no serialisation of tensors).
     */
    public static RolloutServer startInProcess(String name, ServedModel served, Engine engine, NDManager weightsManager,
                                               MeterRegistry registry, ServerOptions options) throws IOException {
        return assemble(InProcessServerBuilder.forName(name).maxInboundMessageSize(options.maxInboundMessageBytes()),
                served, engine, weightsManager, registry, options);
    }

    private static RolloutServer assemble(ServerBuilder<?> builder, ServedModel served, Engine engine, NDManager weightsManager,
                                          MeterRegistry registry, ServerOptions options) throws IOException {
        ExecutorService responses = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                daemonThreads("rollout-responses"));
        WeightSwapBarrier barrier = new WeightSwapBarrier(Duration.ofSeconds(options.maxSyncWaitSeconds()));
        WeightSync weightSync = new WeightSync(engine, served.model(), weightsManager, barrier,
                options.inflightWeightUpdate(), registry, options.syncIdleTimeout(), options.adapterServing());
        RolloutService service = new RolloutService(served, engine, weightSync, barrier,
                new AdmissionLimit(options.maxQueuedRequests(), options.maxQueuedSequences()), options, responses);
        builder.addService(service).addService(ProtoReflectionServiceV1.newInstance());
        HealthStatusManager health = new HealthStatusManager();
        health.setStatus(RolloutServiceGrpc.SERVICE_NAME, HealthCheckResponse.ServingStatus.SERVING);
        builder.addService(FailedCallInterceptor.protect(service.bindService()))
                .addService(FailedCallInterceptor.protect(ProtoReflectionServiceV1.newInstance().bindService()))
                .addService(FailedCallInterceptor.protect(health.getHealthService().bindService()));
        // Interceptors added last run first: metrics sees every call, including those auth refuses.
        if (options.authToken() != null) {
            builder.intercept(new AuthInterceptor(options.authToken(), options.authAll()));
        }
        builder.intercept(new MetricsInterceptor(registry));
        Server server = builder.build().start();
        return new RolloutServer(engine, server, health, responses, weightSync);
    }

    /**
     * Serves a PEFT LoRA adapter ({@code adapter_config.json}, {@code adapter_model.safetensors}) on the loaded base,
     * at the current weight version, as an adapter sync would.
     *
     * @throws IOException naming the file or the tensor that does not fit the base; the base keeps serving
     */
    public void loadAdapter(Path dir) throws IOException {
        LoraConfig config = PeftAdapterFiles.readConfig(dir);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        try (SafetensorsReader r = SafetensorsReader.open(dir.resolve(PeftAdapterFiles.WEIGHTS_FILE))) {
            for (String name : r.names()) {
                tensors.put(name, HostTensor.ofFloats(name, r.get(name).shape(), r.get(name).toFloats()));
            }
        }
        try {
            weightSync.loadAdapter(config, tensors);
        } catch (StatusException e) {
            throw new IOException(dir + ": " + e.getStatus().getDescription(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    /**
     * Graceful stop: health turns NOT_SERVING and new calls are refused at once; calls in flight get {@code grace} to
     * finish; whatever remains is aborted in the engine (its clients receive ABORTED completions) and the server closes.
     */
    public void drain(Duration grace) throws InterruptedException {
        health.enterTerminalState();
        server.shutdown();
        if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            log.warn("in-flight requests did not finish within {} s; aborting them", grace.toSeconds());
            engine.close();
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        }
        close();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        engine.close();
        responseExecutor.shutdownNow();
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
