# The rollout server: gRPC on 50051, Prometheus /metrics on 9400.
#
# Build context: a folder with lib/ (third-party jars) and app/ (the project's jars), as `mvn package`
# leaves it in deploy/target/image (see deploy/README.md):
#   docker build -f deploy/images/server.Dockerfile -t rollout-server deploy/target/image
# BASE_IMAGE: any image with a Java 17+ runtime and useradd: the default public JRE for CPU serving,
# a CUDA image with a JRE and libtorch for GPUs (deploy/README.md), or the local image that
# deploy/images/build-base-image.sh makes where no registry can be reached.
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

# glibc's malloc keeps the buffers libtorch frees in per-thread arenas (a bench peaked at 7.8 GB RSS for a 120 MB
# model, 2.3 GB with jemalloc: docs/benchmarks.md), so jemalloc serves every process of the image. The base image may
# have it already (deploy/images/build-base-image.sh includes it); a fixed path keeps LD_PRELOAD the same on every
# architecture. The processes log which allocator they got ("native memory allocator: ...").
RUN lib="$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 2>/dev/null | head -n 1)" \
 && if [ -z "$lib" ]; then \
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libjemalloc2 \
      && rm -rf /var/lib/apt/lists/* && lib="$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 | head -n 1)"; \
    fi \
 && ln -s "$lib" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
# Keep the pages jemalloc frees rather than hand them back to the kernel, as bin/launch.sh does: faulting a training
# step's freed tensors back in, zeroed, was a quarter of the trainer's CPU time (docs/operations.md has the cost in RSS).
ENV MALLOC_CONF=dirty_decay_ms:-1

ARG UID=10001
RUN groupadd --system --gid "${UID}" rollout \
 && useradd --system --uid "${UID}" --gid rollout --create-home --home-dir /home/rollout --shell /usr/sbin/nologin rollout

# Third-party jars change rarely, the project's often: two layers, so a rebuild ships only the second.
COPY lib/ /opt/rollout/lib/
COPY app/ /opt/rollout/lib/

USER rollout
WORKDIR /home/rollout
# DJL unpacks its native libraries under the home folder; it must not call out to the network (offline=true).
ENV OPT_OUT_TRACKING=true
# libtorch's idle OpenMP threads sleep instead of spinning (see dev.rollout.model.TorchThreads)
ENV OMP_WAIT_POLICY=PASSIVE
EXPOSE 50051 9400

# grpc.health.v1 through a small JVM client; a cold model load takes a while, hence the start period.
HEALTHCHECK --interval=5s --timeout=15s --start-period=120s --retries=3 \
  CMD ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m", "-cp", "/opt/rollout/lib/*", \
       "dev.rollout.deploy.HealthProbe", "--port", "50051"]

ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "--add-modules", "jdk.incubator.vector", "-Doffline=true", "-Djava.awt.headless=true", "-cp", "/opt/rollout/lib/*", "dev.rollout.server.Main"]
CMD ["serve", "--model", "tiny", "--port", "50051", "--metrics-port", "9400"]
